/* shard.c: reading and writing the lab's shard format (layout in readers.h).

   A shard is what prepare.mjs writes once per dataset split and what training
   reads on every run, so reading validates everything (magic, version, every
   header field, the exact file size, every label, the CRC) before copying, and
   writing refuses a Shard that reading would refuse. Sizes are computed in
   64-bit with explicit limits so that a corrupt header can neither overflow
   nor trigger a huge allocation, on 32-bit WASM as well. */
#include "err.h"
#include "readers.h"

#include <stdlib.h>
#include <string.h>

#define SHARD_HEADER 40
#define SHARD_MAX_PIXELS ((uint64_t)1 << 31) /* 2 GiB: far above any dataset here */
#define SHARD_MAX_N 100000000u
#define SHARD_MAX_SIDE 65535u

#define HINT_REPREPARE "delete the shard and run `node datasets/prepare.mjs` again"

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Shared by read and write: returns the pixel count n*c*h*w, or 0 (with the
   error set) if a field is out of range. */
static uint64_t check_dims(const char *what, uint64_t n, uint64_t c, uint64_t h, uint64_t w, uint64_t classes,
                           const char *hint) {
    if (n < 1 || n > SHARD_MAX_N) {
        nl_fail("%s: shard image count %llu is out of range (1..%u). Hint: %s.", what, (unsigned long long)n,
                SHARD_MAX_N, hint);
        return 0;
    }
    if (c < 1 || c > 4) {
        nl_fail("%s: shard channel count %llu is out of range (1..4). Hint: %s.", what, (unsigned long long)c,
                hint);
        return 0;
    }
    if (h < 1 || h > SHARD_MAX_SIDE || w < 1 || w > SHARD_MAX_SIDE) {
        nl_fail("%s: shard image size %llux%llu is out of range (1..%u). Hint: %s.", what,
                (unsigned long long)h, (unsigned long long)w, SHARD_MAX_SIDE, hint);
        return 0;
    }
    if (classes < 1 || classes > 256) {
        nl_fail("%s: shard class count %llu is out of range (1..256). Hint: %s.", what,
                (unsigned long long)classes, hint);
        return 0;
    }
    uint64_t per = c * h * w; /* < 2^34: cannot overflow */
    if (n > SHARD_MAX_PIXELS / per) {
        nl_fail("%s: shard of %llu images of %llux%llux%llu is too large (limit %llu pixel bytes). Hint: %s.",
                what, (unsigned long long)n, (unsigned long long)c, (unsigned long long)h,
                (unsigned long long)w, (unsigned long long)SHARD_MAX_PIXELS, hint);
        return 0;
    }
    return n * per;
}

int shard_read(const uint8_t *buf, size_t len, const char *what, Shard *out) {
    const char *w = what ? what : "shard";
    memset(out, 0, sizeof *out);
    if (len < SHARD_HEADER + 4)
        return nl_fail("%s: too short for a shard (%zu bytes). Hint: %s.", w, len, HINT_REPREPARE);
    if (memcmp(buf, "NLSHARD1", 8) != 0)
        return nl_fail("%s: not a noisylab shard (bad magic). Hint: check the path, or %s.", w, HINT_REPREPARE);
    uint32_t version = le32(buf + 8);
    if (version != 1)
        return nl_fail("%s: shard version %u is not supported (expected 1). Hint: %s.", w, version,
                       HINT_REPREPARE);
    uint32_t n = le32(buf + 12), c = le32(buf + 16), h = le32(buf + 20), wd = le32(buf + 24);
    uint32_t classes = le32(buf + 28), flags = le32(buf + 32), reserved = le32(buf + 36);
    if (flags != 0 || reserved != 0)
        return nl_fail("%s: shard flags/reserved fields are %u/%u, expected 0/0. Hint: %s.", w, flags, reserved,
                       HINT_REPREPARE);
    uint64_t npix = check_dims(w, n, c, h, wd, classes, HINT_REPREPARE);
    if (!npix) return -1;
    uint64_t want = SHARD_HEADER + npix + n + 4;
    if ((uint64_t)len != want)
        return nl_fail("%s: shard is %zu bytes, its header says %llu (%s). Hint: %s.", w, len,
                       (unsigned long long)want, (uint64_t)len < want ? "truncated" : "trailing bytes",
                       HINT_REPREPARE);
    size_t body = len - 4;
    uint32_t crc = crc32_update(0, buf, body);
    if (crc != le32(buf + body))
        return nl_fail("%s: shard CRC mismatch (stored %08x, computed %08x): the file is damaged. Hint: %s.", w,
                       le32(buf + body), crc, HINT_REPREPARE);
    const uint8_t *labels = buf + SHARD_HEADER + npix;
    for (uint32_t i = 0; i < n; i++)
        if (labels[i] >= classes)
            return nl_fail("%s: label %u of image %u is not below the class count %u. Hint: %s.", w, labels[i],
                           i, classes, HINT_REPREPARE);
    out->pixels = malloc((size_t)npix);
    out->labels = malloc(n);
    if (!out->pixels || !out->labels) {
        shard_free(out);
        return nl_fail("%s: out of memory for %llu pixel bytes. Hint: close other programs or use a smaller "
                       "dataset.",
                       w, (unsigned long long)npix);
    }
    memcpy(out->pixels, buf + SHARD_HEADER, (size_t)npix);
    memcpy(out->labels, labels, n);
    out->n = (int)n;
    out->c = (int)c;
    out->h = (int)h;
    out->w = (int)wd;
    out->classes = (int)classes;
    return 0;
}

int shard_write(const Shard *s, uint8_t **buf, size_t *len) {
    const char *hint = "this is a bug in the code building the shard; please report it";
    *buf = NULL;
    *len = 0;
    if (s->n < 0 || s->c < 0 || s->h < 0 || s->w < 0 || s->classes < 0)
        return nl_fail("shard_write: negative shard dimension. Hint: %s.", hint);
    uint64_t npix = check_dims("shard_write", (uint64_t)s->n, (uint64_t)s->c, (uint64_t)s->h, (uint64_t)s->w,
                               (uint64_t)s->classes, hint);
    if (!npix) return -1;
    if (!s->pixels || !s->labels) return nl_fail("shard_write: missing pixels or labels. Hint: %s.", hint);
    for (int i = 0; i < s->n; i++)
        if (s->labels[i] >= s->classes)
            return nl_fail("shard_write: label %u of image %d is not below the class count %d. Hint: %s.",
                           s->labels[i], i, s->classes, hint);
    uint64_t total = SHARD_HEADER + npix + (uint64_t)s->n + 4;
    if (total > SIZE_MAX) return nl_fail("shard_write: shard too large for this platform. Hint: %s.", hint);
    uint8_t *b = malloc((size_t)total);
    if (!b)
        return nl_fail("shard_write: out of memory for %llu bytes. Hint: close other programs or use a smaller "
                       "dataset.",
                       (unsigned long long)total);
    memcpy(b, "NLSHARD1", 8);
    put32(b + 8, 1);
    put32(b + 12, (uint32_t)s->n);
    put32(b + 16, (uint32_t)s->c);
    put32(b + 20, (uint32_t)s->h);
    put32(b + 24, (uint32_t)s->w);
    put32(b + 28, (uint32_t)s->classes);
    put32(b + 32, 0);
    put32(b + 36, 0);
    memcpy(b + SHARD_HEADER, s->pixels, (size_t)npix);
    memcpy(b + SHARD_HEADER + npix, s->labels, (size_t)s->n);
    size_t body = (size_t)total - 4;
    put32(b + body, crc32_update(0, b, body));
    *buf = b;
    *len = (size_t)total;
    return 0;
}

void shard_free(Shard *s) {
    free(s->pixels);
    free(s->labels);
    s->pixels = NULL;
    s->labels = NULL;
}
