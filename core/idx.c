/* idx.c: IDX files (MNIST, Fashion-MNIST), raw or gzip'd.

   Header (big-endian): two zero bytes, a type byte (0x08 = unsigned byte, the
   only type these datasets use), the number of dimensions, then one u32 per
   dimension. The data follows, row-major, and must fill the rest of the file
   exactly: a short file is truncated, a long one is not what its header says. */
#include "err.h"
#include "readers.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Largest IDX payload accepted (also the gzip output cap). Fashion-MNIST's
   training images are 47 MB; 1 GiB leaves room without letting a corrupt
   header or a decompression bomb exhaust memory. */
#define IDX_MAX_BYTES ((size_t)1 << 30)

#define HINT_FILE "check that the file is an MNIST-style IDX file and copy or download it again"

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decompresses if gzip'd. On success *data is either buf itself or a malloc'd
   buffer (*owned = 1). */
static int idx_bytes(const uint8_t *buf, size_t len, const char *what, const uint8_t **data, size_t *n,
                     uint8_t **owned) {
    *owned = NULL;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        if (gzip_decode(buf, len, owned, n, IDX_MAX_BYTES, what)) return -1;
        *data = *owned;
    } else {
        *data = buf;
        *n = len;
    }
    return 0;
}

/* Checks the header for `ndims` dimensions and returns the dimensions and the
   payload size (overflow-checked). */
static int idx_header(const uint8_t *d, size_t n, const char *what, int ndims, const char *kind,
                      uint32_t *dims, size_t *payload) {
    const char *w = what ? what : "IDX data";
    if (n < 4) return nl_fail("%s: too short for an IDX header (%zu bytes). Hint: %s.", w, n, HINT_FILE);
    if (d[0] != 0 || d[1] != 0)
        return nl_fail("%s: not an IDX file (magic %02x %02x %02x %02x). Hint: %s.", w, d[0], d[1], d[2], d[3],
                       HINT_FILE);
    if (d[2] != 0x08)
        return nl_fail("%s: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08). Hint: %s.",
                       w, d[2], HINT_FILE);
    if (d[3] != ndims) {
        const char *is = d[3] == 1 ? "a label file" : d[3] == 3 ? "an image file" : "an IDX file";
        return nl_fail("%s: is %s with %d dimension(s), but %s file (magic %d, %d dimension(s)) was expected. "
                       "Hint: pass the %s file here (e.g. %s).",
                       w, is, d[3], ndims == 3 ? "an image" : "a label", 2048 + ndims, ndims, kind,
                       ndims == 3 ? "train-images-idx3-ubyte.gz" : "train-labels-idx1-ubyte.gz");
    }
    size_t head = 4 + 4 * (size_t)ndims;
    if (n < head) return nl_fail("%s: truncated IDX header (%zu bytes). Hint: %s.", w, n, HINT_FILE);
    size_t total = 1;
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(d + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > INT_MAX)
            return nl_fail("%s: IDX dimension %d is %u. Hint: %s.", w, i, dims[i], HINT_FILE);
        if (total > IDX_MAX_BYTES / dims[i]) /* also keeps the product from overflowing */
            return nl_fail("%s: IDX dimensions are absurdly large (more than %zu bytes of data). Hint: %s.", w,
                           IDX_MAX_BYTES, HINT_FILE);
        total *= dims[i];
    }
    if (n - head < total)
        return nl_fail("%s: truncated: the header promises %zu data bytes but only %zu follow. Hint: %s.", w,
                       total, n - head, HINT_FILE);
    if (n - head > total)
        return nl_fail("%s: %zu unexpected bytes after the IDX data. Hint: %s.", w, n - head - total, HINT_FILE);
    *payload = total;
    return 0;
}

static int idx_read(const uint8_t *buf, size_t len, const char *what, int ndims, const char *kind,
                    uint8_t **out, uint32_t *dims) {
    const uint8_t *d;
    size_t n = 0, payload = 0;
    uint8_t *owned;
    *out = NULL;
    if (idx_bytes(buf, len, what, &d, &n, &owned)) return -1;
    if (idx_header(d, n, what, ndims, kind, dims, &payload)) {
        free(owned);
        return -1;
    }
    size_t head = 4 + 4 * (size_t)ndims;
    uint8_t *p;
    if (owned) { /* reuse the decompressed buffer: no second copy of 47 MB */
        memmove(owned, owned + head, payload);
        p = realloc(owned, payload);
        if (!p) p = owned;
    } else {
        p = malloc(payload);
        if (!p)
            return nl_fail("%s: out of memory for %zu bytes. Hint: close other programs or use a smaller "
                           "dataset.",
                           what ? what : "IDX data", payload);
        memcpy(p, d + head, payload);
    }
    *out = p;
    return 0;
}

int idx_read_images(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *n, int *rows,
                    int *cols) {
    uint32_t dims[3] = {0, 0, 0};
    if (idx_read(buf, len, what, 3, "image", pixels, dims)) return -1;
    *n = (int)dims[0];
    *rows = (int)dims[1];
    *cols = (int)dims[2];
    return 0;
}

int idx_read_labels(const uint8_t *buf, size_t len, const char *what, uint8_t **labels, int *n) {
    uint32_t dims[1] = {0}; /* set by idx_read; initialised for gcc -O3 flow analysis */
    if (idx_read(buf, len, what, 1, "label", labels, dims)) return -1;
    *n = (int)dims[0];
    return 0;
}
