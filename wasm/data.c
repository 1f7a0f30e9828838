/* data.c: dataset preparation through the C API (used by datasets/prepare.mjs
   and datasets/download.mjs via WASM; names in wasm/data.exports).

   A shard builder holds one split being assembled. The caller (JS) reads the
   source files and hands their bytes over one by one; the core decodes them
   with the fuzzed readers of core/ (IDX, gzip, PNG) and writes the pixels,
   converted to NCHW, straight into the final shard layout (readers.h), so a
   150 MB CIFAR-10 shard exists once in memory, not twice.

       b = nl_shard_new(60000, 1, 28, 28, 10, "mnist/train.shard");
       for each sprite s: nl_shard_put_png_rows(b, 3000*s, png, len, 3000, "mnist_batch_s.png");
       nl_shard_put_idx_labels(b, 0, lbl, len, 0, "train-labels-idx1-ubyte.gz");
       bytes = nl_shard_finish(b, &len);   // refuses if any image or label is missing
       ... write the bytes ...; nl_shard_free(b);

   Every put returns the number of images it filled, or -1 with nl_last_error()
   naming the source file. `count` <= 0 means "everything in the source". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/readers.h"
#include "noisylab.h"

#define HEADER 40
/* the limits of core/shard.c: what shard_read accepts */
#define MAX_N 100000000
#define MAX_SIDE 65535
#define MAX_PIXELS ((uint64_t)1 << 31)

typedef struct NlShardBuilder {
    uint8_t *buf; /* the whole shard: header, pixels, labels, CRC */
    size_t len;
    int n, c, h, w, classes;
    uint8_t *have; /* per image: bit 0 pixels set, bit 1 label set */
    char name[256];
} NlShardBuilder;

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

NlShardBuilder *nl_shard_new(int n, int c, int h, int w, int classes, const char *name) {
    const char *nm = name ? name : "shard";
    if (n < 1 || n > MAX_N || c < 1 || c > 4 || h < 1 || h > MAX_SIDE || w < 1 || w > MAX_SIDE || classes < 1 ||
        classes > 256 || (uint64_t)n * c * h * w > MAX_PIXELS) {
        nl_fail("%s: invalid shard shape n=%d c=%d h=%d w=%d classes=%d (limits: n 1..%d, c 1..4, h and w "
                "1..%d, classes 1..256, at most 2^31 pixel bytes). Hint: this is a bug in the dataset "
                "preparation; please report it.",
                nm, n, c, h, w, classes, MAX_N, MAX_SIDE);
        return NULL;
    }
    NlShardBuilder *b = calloc(1, sizeof *b);
    size_t len = HEADER + (size_t)n * c * h * w + (size_t)n + 4;
    if (b) b->buf = calloc(len, 1);
    if (b) b->have = calloc((size_t)n, 1);
    if (!b || !b->buf || !b->have) {
        if (b) free(b->buf), free(b->have), free(b);
        nl_fail("%s: out of memory for a shard of %zu bytes. Hint: close other programs, or prepare one "
                "dataset at a time.",
                nm, len);
        return NULL;
    }
    b->len = len;
    b->n = n, b->c = c, b->h = h, b->w = w, b->classes = classes;
    snprintf(b->name, sizeof b->name, "%s", nm);
    return b;
}

void nl_shard_free(NlShardBuilder *b) {
    if (!b) return;
    free(b->buf);
    free(b->have);
    free(b);
}

static uint8_t *pixels_of(NlShardBuilder *b, int i) {
    return b->buf + HEADER + (size_t)i * b->c * b->h * b->w;
}
static uint8_t *labels_of(NlShardBuilder *b) { return b->buf + HEADER + (size_t)b->n * b->c * b->h * b->w; }

/* clamps count to what the source holds and checks that [first, first+count) fits */
static int span(NlShardBuilder *b, int first, int count, int avail, const char *what) {
    if (count <= 0) count = avail;
    if (count > avail)
        return nl_fail("%s: holds %d items, %d were expected. Hint: the file is incomplete or not the one "
                       "the dataset needs; copy or download it again.",
                       what, avail, count);
    if (first < 0 || first > b->n - count)
        return nl_fail("%s: images %d..%d do not fit in %s (%d images). Hint: this is a bug in the dataset "
                       "preparation; please report it.",
                       what, first, first + count - 1, b->name, b->n);
    return count;
}

static int set_labels(NlShardBuilder *b, int first, const uint8_t *lb, int count, int stride, const char *what) {
    for (int i = 0; i < count; i++)
        if (lb[(size_t)i * stride] >= b->classes)
            return nl_fail("%s: label %d of item %d is not a class of %s (0..%d). Hint: the file is corrupt or "
                           "belongs to another dataset.",
                           what, lb[(size_t)i * stride], i, b->name, b->classes - 1);
    uint8_t *dst = labels_of(b) + first;
    for (int i = 0; i < count; i++) {
        dst[i] = lb[(size_t)i * stride];
        b->have[first + i] |= 2;
    }
    return count;
}

int nl_shard_put_idx_images(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                            const char *name) {
    const char *what = name ? name : "IDX images";
    uint8_t *px;
    int n, rows, cols;
    if (idx_read_images(buf, len, what, &px, &n, &rows, &cols)) return -1;
    int r = -1;
    if (b->c != 1 || rows != b->h || cols != b->w)
        nl_fail("%s: images are %dx%d, %s needs %dx%dx%d. Hint: pass the image file of the right dataset.", what,
                rows, cols, b->name, b->c, b->h, b->w);
    else if ((r = span(b, first, count, n, what)) > 0) {
        memcpy(pixels_of(b, first), px, (size_t)r * rows * cols);
        for (int i = 0; i < r; i++) b->have[first + i] = (uint8_t)(b->have[first + i] | 1);
    }
    free(px);
    return r;
}

int nl_shard_put_idx_labels(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                            const char *name) {
    const char *what = name ? name : "IDX labels";
    uint8_t *lb;
    int n;
    if (idx_read_labels(buf, len, what, &lb, &n)) return -1;
    int r = span(b, first, count, n, what);
    if (r > 0) r = set_labels(b, first, lb, r, 1, what);
    free(lb);
    return r;
}

/* A ConvNetJS sprite: one image per PNG row, pixel j of the row is image pixel
   (j / w, j % w) with the channels interleaved; the shard wants planes (NCHW). */
int nl_shard_put_png_rows(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                          const char *name) {
    const char *what = name ? name : "PNG sprite";
    uint8_t *px;
    int width, height, ch;
    if (png_decode(buf, len, what, &px, &width, &height, &ch)) return -1;
    int r = -1, plane = b->h * b->w;
    if (ch != b->c || width != plane)
        nl_fail("%s: a %dx%d sprite with %d channel(s) cannot hold %dx%dx%d images (one image per row). Hint: "
                "pass a sprite of the right dataset.",
                what, width, height, ch, b->c, b->h, b->w);
    else if ((r = span(b, first, count, height, what)) > 0) {
        for (int i = 0; i < r; i++) {
            const uint8_t *row = px + (size_t)i * width * ch;
            uint8_t *dst = pixels_of(b, first + i);
            if (ch == 1) {
                memcpy(dst, row, (size_t)plane);
            } else {
                for (int j = 0; j < plane; j++)
                    for (int k = 0; k < ch; k++) dst[(size_t)k * plane + j] = row[(size_t)j * ch + k];
            }
            b->have[first + i] |= 1;
        }
    }
    free(px);
    return r;
}

/* CIFAR-10 binary version (data_batch_*.bin, test_batch.bin): records of one
   label byte and 3072 pixel bytes, already in CHW order (R, G, B planes). */
int nl_shard_put_cifar_bin(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                           const char *name) {
    const char *what = name ? name : "CIFAR-10 batch";
    size_t rec = 1 + (size_t)b->c * b->h * b->w;
    if (len == 0 || len % rec != 0)
        return nl_fail("%s: %u bytes is not a whole number of %zu-byte records. Hint: the file is truncated "
                       "or not a CIFAR-10 binary batch; download it again.",
                       what, len, rec);
    int r = span(b, first, count, (int)(len / rec), what);
    if (r < 0) return -1;
    if (set_labels(b, first, buf, r, (int)rec, what) < 0) return -1;
    for (int i = 0; i < r; i++) {
        memcpy(pixels_of(b, first + i), buf + (size_t)i * rec + 1, rec - 1);
        b->have[first + i] |= 1;
    }
    return r;
}

/* labels parsed by the caller (e.g. from cifar10_labels.json) */
int nl_shard_put_labels(NlShardBuilder *b, int first, const uint8_t *labels, int count, const char *name) {
    const char *what = name ? name : "labels";
    if (count < 1)
        return nl_fail("%s: %d labels given. Hint: this is a bug in the dataset preparation; please report it.", what,
                       count);
    int r = span(b, first, count, count, what);
    return r < 0 ? -1 : set_labels(b, first, labels, r, 1, what);
}

/* Writes the header and CRC and returns the shard bytes (owned by the
   builder, valid until nl_shard_free), or NULL if an image or label is missing. */
const uint8_t *nl_shard_finish(NlShardBuilder *b, uint32_t *out_len) {
    for (int i = 0; i < b->n; i++) {
        if (b->have[i] != 3) {
            int j = i;
            while (j + 1 < b->n && b->have[j + 1] == b->have[i]) j++;
            nl_fail("%s: images %d..%d have no %s. Hint: a source file is missing or shorter than expected; "
                    "check the dataset folder.",
                    b->name, i, j, b->have[i] == 0 ? "pixels and no labels" : b->have[i] == 1 ? "labels" : "pixels");
            return NULL;
        }
    }
    if (b->len > UINT32_MAX) {
        nl_fail("%s: shard of %zu bytes is too large for this API. Hint: use a smaller split.", b->name, b->len);
        return NULL;
    }
    memcpy(b->buf, "NLSHARD1", 8);
    put32(b->buf + 8, 1);
    put32(b->buf + 12, (uint32_t)b->n);
    put32(b->buf + 16, (uint32_t)b->c);
    put32(b->buf + 20, (uint32_t)b->h);
    put32(b->buf + 24, (uint32_t)b->w);
    put32(b->buf + 28, (uint32_t)b->classes);
    put32(b->buf + 32, 0);
    put32(b->buf + 36, 0);
    put32(b->buf + b->len - 4, crc32_update(0, b->buf, b->len - 4));
    *out_len = (uint32_t)b->len;
    return b->buf;
}

/* Validates a shard (everything shard_read checks) and writes n, c, h, w,
   classes to out[0..4]. Returns 0, or -1 with the reason. */
int nl_shard_info(const uint8_t *buf, uint32_t len, const char *name, int32_t *out) {
    Shard s;
    if (shard_read(buf, len, name ? name : "shard", &s)) return -1;
    out[0] = s.n, out[1] = s.c, out[2] = s.h, out[3] = s.w, out[4] = s.classes;
    shard_free(&s);
    return 0;
}
