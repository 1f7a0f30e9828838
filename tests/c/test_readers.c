/* test_readers.c: the dataset readers (core/inflate.c, idx.c, png.c, shard.c).

   1. Known vectors: CRC-32, stored/fixed/dynamic DEFLATE, zlib, gzip headers and
      multi-member files, the fuzz seeds (made by tests/fuzz/seeds/make_seeds.py
      with Python's zlib and an independent PNG filter encoder).
   2. Format rules: wrong magic, absurd dimensions, unsupported PNG formats,
      every shard header field, the decompression-bomb cap.
   3. Corruption sweep: every truncation and single-byte flips at every position
      of small valid files must fail with a message naming the file and ending
      with a hint (and ASan/UBSan stay quiet: inputs are exact-size copies).
   4. Real data, when ../shared/datasets is there (else a printed skip): MNIST
      sprite 20 equals the t10k IDX images, the MNIST training mean, CIFAR-10
      known pixels, Fashion-MNIST labels.
   Run from the repo root (make ctest). */
#include "check.h"
#include "noisylab.h"
#include "err.h"
#include "readers.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put8(Buf *b, int v) {
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}
static void put_be32(Buf *b, uint32_t v) {
    uint8_t c[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, c, 4);
}
static void put_le32(Buf *b, uint32_t v) {
    uint8_t c[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, c, 4);
}
static void set_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

/* a failure message must name the file, say what is wrong and end with a hint */
static int msg_ok(const char *what, const char *sub) {
    const char *m = nl_error();
    size_t n = strlen(m);
    return strstr(m, what) && strstr(m, " Hint: ") && n > 0 && m[n - 1] == '.' && (!sub || strstr(m, sub));
}

#define EXPECT_FAIL(expr, what, sub)                                                          \
    do {                                                                                      \
        nl_clear_error();                                                                     \
        int r_ = (expr);                                                                      \
        CHECK(r_ != 0, "expected failure: %s", #expr);                                        \
        CHECK(msg_ok(what, sub), "%s: message \"%s\" (want \"%s\")", #expr, nl_error(), sub ? sub : ""); \
    } while (0)

/* deterministic pixel values, the same formula as make_seeds.py */
static int pixel(int x, int y, int k) { return ((x * 131 + y * 71 + k * 29) ^ (x * y * 13)) & 255; }

static Rng rng; /* fixed seed: every run tests the same bytes */
static uint8_t rnd8(void) { return (uint8_t)(rng_u32(&rng) >> 24); }

/* ---- encoders used to build test inputs */

/* DEFLATE with stored blocks only (byte-aligned, easy to get right) */
static void deflate_stored(Buf *b, const uint8_t *d, size_t n) {
    size_t off = 0;
    do {
        size_t k = n - off > 65535 ? 65535 : n - off;
        put8(b, off + k == n ? 1 : 0);
        uint8_t l[4] = {(uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k, (uint8_t)(~k >> 8)};
        put(b, l, 4);
        put(b, d + off, k);
        off += k;
    } while (off < n);
}

static uint32_t adler(const uint8_t *p, size_t n) {
    uint32_t a = 1, s = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521;
        s = (s + a) % 65521;
    }
    return s << 16 | a;
}

static void gzip_stored(Buf *b, const uint8_t *d, size_t n) {
    static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    put(b, head, 10);
    deflate_stored(b, d, n);
    put_le32(b, crc32_update(0, d, n));
    put_le32(b, (uint32_t)n);
}

static void zlib_stored(Buf *b, const uint8_t *d, size_t n) {
    put8(b, 0x78);
    put8(b, 0x01);
    deflate_stored(b, d, n);
    put_be32(b, adler(d, n));
}

/* bit writer for hand-made Huffman blocks: bits go LSB first, Huffman codes MSB first */
typedef struct {
    Buf b;
    int nbits;
} Bits;
static void bits_put(Bits *w, uint32_t v, int n) {
    for (int i = 0; i < n; i++) {
        if (w->nbits == 0) put8(&w->b, 0);
        w->b.p[w->b.n - 1] |= (uint8_t)(((v >> i) & 1) << w->nbits);
        w->nbits = (w->nbits + 1) & 7;
    }
}
static void bits_code(Bits *w, uint32_t code, int len) {
    for (int i = len - 1; i >= 0; i--) bits_put(w, (code >> i) & 1, 1);
}
static void fixed_sym(Bits *w, int sym) { /* fixed literal/length code (RFC 1951 3.2.6) */
    if (sym < 144) bits_code(w, 0x30 + sym, 8);
    else if (sym < 256) bits_code(w, 0x190 + sym - 144, 9);
    else if (sym < 280) bits_code(w, sym - 256, 7);
    else bits_code(w, 0xc0 + sym - 280, 8);
}

/* raw DEFLATE, one fixed block: byte 0 then `runs` copies of (length 258, distance 1) */
static Buf zero_bomb(int runs) {
    Bits w = {{0}, 0};
    bits_put(&w, 1, 1);
    bits_put(&w, 1, 2);
    fixed_sym(&w, 0);
    for (int i = 0; i < runs; i++) {
        fixed_sym(&w, 285);
        bits_code(&w, 0, 5);
    }
    fixed_sym(&w, 256);
    return w.b;
}

static void chunk(Buf *b, const char *type, const uint8_t *d, size_t n) {
    put_be32(b, (uint32_t)n);
    size_t at = b->n;
    put(b, type, 4);
    put(b, d, n);
    put_be32(b, crc32_update(0, b->p + at, n + 4));
}

static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* PNG of interleaved 8-bit pixels (bpp bytes each); row y uses filter `filter`,
   or y % 5 if filter < 0; the zlib stream is split over `nidat` IDAT chunks */
static Buf png_build(int w, int h, int ctype, const uint8_t *px, int filter, int nidat) {
    int bpp = ctype == 0 ? 1 : ctype == 4 ? 2 : ctype == 2 ? 3 : 4;
    size_t rb = (size_t)w * bpp;
    Buf raw = {0}, z = {0}, out = {0};
    for (int y = 0; y < h; y++) {
        int f = filter < 0 ? y % 5 : filter;
        put8(&raw, f);
        const uint8_t *row = px + y * rb, *prev = y ? row - rb : NULL;
        for (size_t i = 0; i < rb; i++) {
            int a = i >= (size_t)bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0;
            int c = prev && i >= (size_t)bpp ? prev[i - bpp] : 0;
            int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
            put8(&raw, (row[i] - pred) & 255);
        }
    }
    zlib_stored(&z, raw.p, raw.n);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(&out, sig, 8);
    uint8_t ihdr[13] = {0};
    ihdr[0] = (uint8_t)(w >> 24), ihdr[1] = (uint8_t)(w >> 16), ihdr[2] = (uint8_t)(w >> 8), ihdr[3] = (uint8_t)w;
    ihdr[4] = (uint8_t)(h >> 24), ihdr[5] = (uint8_t)(h >> 16), ihdr[6] = (uint8_t)(h >> 8), ihdr[7] = (uint8_t)h;
    ihdr[8] = 8;
    ihdr[9] = (uint8_t)ctype;
    chunk(&out, "IHDR", ihdr, 13);
    size_t step = (z.n + nidat - 1) / nidat;
    for (size_t i = 0; i < z.n; i += step) chunk(&out, "IDAT", z.p + i, z.n - i < step ? z.n - i : step);
    chunk(&out, "IEND", NULL, 0);
    free(raw.p);
    free(z.p);
    return out;
}

/* a PNG with the given IHDR fields and an IDAT/IEND (for format errors) */
static Buf png_header_only(uint32_t w, uint32_t h, int depth, int ctype, int interlace) {
    Buf out = {0}, z = {0};
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(&out, sig, 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        (uint8_t)depth,     (uint8_t)ctype,     0,                  0,
                        (uint8_t)interlace};
    chunk(&out, "IHDR", ihdr, 13);
    uint8_t row[2] = {0, 0};
    zlib_stored(&z, row, 2);
    chunk(&out, "IDAT", z.p, z.n);
    chunk(&out, "IEND", NULL, 0);
    free(z.p);
    return out;
}

static Buf idx_build(uint32_t magic, int ndims, const uint32_t *dims, const uint8_t *d, size_t n) {
    Buf b = {0};
    put_be32(&b, magic);
    for (int i = 0; i < ndims; i++) put_be32(&b, dims[i]);
    put(&b, d, n);
    return b;
}

/* ---- 1. CRC, DEFLATE, zlib, gzip */

static const char *seed_text(void) { /* the text in make_seeds.py */
    static char t[4096];
    if (!t[0]) {
        size_t n = 0;
        for (int i = 0; i < 40; i++)
            n += (size_t)snprintf(t + n, sizeof t - n, "line %d: the quick brown fox jumps over the lazy dog %d\n",
                                  i, i * i % 97);
    }
    return t;
}

static void test_crc(void) {
    const uint8_t *s = (const uint8_t *)"123456789";
    CHECK(crc32_update(0, s, 9) == 0xCBF43926u, "crc32 check value");
    CHECK(crc32_update(crc32_update(0, s, 4), s + 4, 5) == 0xCBF43926u, "crc32 incremental");
    CHECK(crc32_update(0, s, 0) == 0, "crc32 of nothing");
}

static void test_inflate_basic(void) {
    uint8_t *out;
    size_t n;
    /* stored, several blocks (> 65535 bytes) */
    size_t big = 150000;
    uint8_t *d = malloc(big);
    for (size_t i = 0; i < big; i++) d[i] = rnd8();
    Buf b = {0};
    deflate_stored(&b, d, big);
    CHECK(inflate_raw(b.p, b.n, &out, &n, big, "stored") == 0, "stored: %s", nl_error());
    CHECK(n == big && memcmp(out, d, big) == 0, "stored content");
    free(out);
    EXPECT_FAIL(inflate_raw(b.p, b.n, &out, &n, big - 1, "stored.cap"), "stored.cap", "limit of 149999 bytes");
    free(b.p);
    b = (Buf){0};
    gzip_stored(&b, d, big);
    CHECK(gzip_decode(b.p, b.n, &out, &n, big, "stored.gz") == 0 && n == big && memcmp(out, d, big) == 0,
          "gzip stored: %s", nl_error());
    free(out);
    free(b.p);
    b = (Buf){0};
    zlib_stored(&b, d, big);
    CHECK(zlib_decode(b.p, b.n, &out, &n, big, "stored.z") == 0 && n == big && memcmp(out, d, big) == 0,
          "zlib stored: %s", nl_error());
    free(out);
    b.p[b.n - 1] ^= 1; /* Adler-32 */
    EXPECT_FAIL(zlib_decode(b.p, b.n, &out, &n, big, "bad.z"), "bad.z", "Adler-32");
    free(b.p);
    free(d);

    /* empty stored block */
    const uint8_t empty[5] = {1, 0, 0, 0xff, 0xff};
    CHECK(inflate_raw(empty, 5, &out, &n, 10, "empty") == 0 && n == 0 && out, "empty stored block");
    free(out);

    /* fixed Huffman by hand: "abcabcabca" = literals a b c + (length 7, distance 3) */
    Bits w = {{0}, 0};
    bits_put(&w, 1, 1);
    bits_put(&w, 1, 2);
    fixed_sym(&w, 'a');
    fixed_sym(&w, 'b');
    fixed_sym(&w, 'c');
    fixed_sym(&w, 261); /* length 7 */
    bits_code(&w, 2, 5); /* distance 3 */
    fixed_sym(&w, 256);
    CHECK(inflate_raw(w.b.p, w.b.n, &out, &n, 100, "fixed") == 0 && n == 10 && memcmp(out, "abcabcabca", 10) == 0,
          "fixed block: %s", nl_error());
    free(out);
    free(w.b.p);

    /* invalid streams, each with its own reason */
    const uint8_t type3[1] = {0x07};
    EXPECT_FAIL(inflate_raw(type3, 1, &out, &n, 100, "t3"), "t3", "block type 3");
    const uint8_t badlen[5] = {1, 5, 0, 0, 0};
    EXPECT_FAIL(inflate_raw(badlen, 5, &out, &n, 100, "nlen"), "nlen", "length check");
    EXPECT_FAIL(inflate_raw(NULL, 0, &out, &n, 100, "nothing"), "nothing", "ends");
    CHECK(out == NULL && n == 0, "outputs cleared on failure");

    w = (Bits){{0}, 0}; /* match before any output */
    bits_put(&w, 1, 1);
    bits_put(&w, 1, 2);
    fixed_sym(&w, 257);
    bits_code(&w, 0, 5);
    fixed_sym(&w, 256);
    EXPECT_FAIL(inflate_raw(w.b.p, w.b.n, &out, &n, 100, "far"), "far", "too far back");
    free(w.b.p);
    w = (Bits){{0}, 0}; /* literal/length symbol 286 */
    bits_put(&w, 1, 1);
    bits_put(&w, 1, 2);
    fixed_sym(&w, 286);
    EXPECT_FAIL(inflate_raw(w.b.p, w.b.n, &out, &n, 100, "sym286"), "sym286", "invalid length symbol");
    free(w.b.p);
    w = (Bits){{0}, 0}; /* distance symbol 30 */
    bits_put(&w, 1, 1);
    bits_put(&w, 1, 2);
    fixed_sym(&w, 'x');
    fixed_sym(&w, 257);
    bits_code(&w, 30, 5); /* not a code of the fixed distance code (30 of 32 used) */
    fixed_sym(&w, 256);
    bits_put(&w, 0, 16);
    EXPECT_FAIL(inflate_raw(w.b.p, w.b.n, &out, &n, 100, "dist30"), "dist30", "invalid Huffman code");
    free(w.b.p);
    w = (Bits){{0}, 0}; /* dynamic block with HLIT = 30 (287 codes) */
    bits_put(&w, 1, 1);
    bits_put(&w, 2, 2);
    bits_put(&w, 30, 5);
    bits_put(&w, 0, 5);
    bits_put(&w, 0, 4);
    for (int i = 0; i < 8; i++) bits_put(&w, 0, 8);
    EXPECT_FAIL(inflate_raw(w.b.p, w.b.n, &out, &n, 100, "hlit"), "hlit", "too many length");
    free(w.b.p);
    w = (Bits){{0}, 0}; /* dynamic: code-length code with one symbol (incomplete) */
    bits_put(&w, 1, 1);
    bits_put(&w, 2, 2);
    bits_put(&w, 0, 5);
    bits_put(&w, 0, 5);
    bits_put(&w, 0, 4);
    bits_put(&w, 1, 3); /* symbol 16 has length 1, 17, 18, 0 none */
    for (int i = 0; i < 3; i++) bits_put(&w, 0, 3);
    for (int i = 0; i < 8; i++) bits_put(&w, 0, 8);
    EXPECT_FAIL(inflate_raw(w.b.p, w.b.n, &out, &n, 100, "clen"), "clen", "code-length code");
    free(w.b.p);
    w = (Bits){{0}, 0}; /* dynamic: first code length is a repeat (16) */
    bits_put(&w, 1, 1);
    bits_put(&w, 2, 2);
    bits_put(&w, 0, 5);
    bits_put(&w, 0, 5);
    bits_put(&w, 0, 4);
    bits_put(&w, 1, 3); /* 16: length 1 */
    bits_put(&w, 1, 3); /* 17: length 1 -> complete code {16: 0, 17: 1} */
    bits_put(&w, 0, 3);
    bits_put(&w, 0, 3);
    bits_code(&w, 0, 1); /* symbol 16 first */
    bits_put(&w, 0, 2);
    for (int i = 0; i < 8; i++) bits_put(&w, 0, 8);
    EXPECT_FAIL(inflate_raw(w.b.p, w.b.n, &out, &n, 100, "rep"), "rep", "no previous length");
    free(w.b.p);
}

static void test_bomb(void) {
    uint8_t *out;
    size_t n;
    Buf z = zero_bomb(4065); /* 1 + 258 * 4065 = 1,048,771 bytes from ~6.6 KB */
    CHECK(z.n < 8000, "bomb is small (%zu)", z.n);
    CHECK(inflate_raw(z.p, z.n, &out, &n, 2u << 20, "bomb") == 0 && n == 1048771, "bomb under the cap: %s",
          nl_error());
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++) zeros += out[i] == 0;
    CHECK(zeros == n, "bomb output is zeros");
    free(out);
    EXPECT_FAIL(inflate_raw(z.p, z.n, &out, &n, 65536, "bomb.deflate"), "bomb.deflate", "exceeds the limit");
    /* the same inside gzip, with a lying ISIZE of 4 GB - 1 (only a size hint) */
    Buf g = {0};
    static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    put(&g, head, 10);
    put(&g, z.p, z.n);
    put_le32(&g, 0);
    put_le32(&g, 0xffffffffu);
    EXPECT_FAIL(gzip_decode(g.p, g.n, &out, &n, 100000, "bomb.gz"), "bomb.gz", "exceeds the limit");
    EXPECT_FAIL(gzip_decode(g.p, g.n, &out, &n, 4u << 20, "bomb2.gz"), "bomb2.gz", "CRC-32");
    free(g.p);
    free(z.p);
}

static void test_gzip(void) {
    uint8_t *out;
    size_t n;
    const char *t = seed_text();
    struct {
        const char *file;
        int kind; /* 0 gzip, 1 zlib, 2 raw */
        const char *want;
        size_t want_n;
    } seeds[] = {
        {"tests/fuzz/seeds/fuzz_gzip/dynamic.gz", 0, t, strlen(t)},
        {"tests/fuzz/seeds/fuzz_gzip/fixed.gz", 0, "hello hello hello, gzip!", 24},
        {"tests/fuzz/seeds/fuzz_gzip/stored.gz", 0, t, 300},
        {"tests/fuzz/seeds/fuzz_gzip/multi.gz", 0, "first member\nsecond member\n", 27},
        {"tests/fuzz/seeds/fuzz_gzip/header.gz", 0, t, 200},
        {"tests/fuzz/seeds/fuzz_gzip/zlib.z", 1, t, strlen(t)},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        size_t len;
        uint8_t *b = slurp(seeds[i].file, &len);
        CHECK(b != NULL, "missing seed %s (run from the repo root)", seeds[i].file);
        if (!b) continue;
        int err = seeds[i].kind == 0 ? gzip_decode(b, len, &out, &n, 1 << 20, seeds[i].file)
                                     : zlib_decode(b, len, &out, &n, 1 << 20, seeds[i].file);
        CHECK(!err && n == seeds[i].want_n && memcmp(out, seeds[i].want, n) == 0, "%s: %s", seeds[i].file,
              err ? nl_error() : "wrong content");
        if (!err) free(out);
        if (seeds[i].kind == 0) { /* with trailing zero padding: fine; with garbage: error */
            uint8_t *b2 = malloc(len + 3);
            memcpy(b2, b, len);
            memset(b2 + len, 0, 3);
            CHECK(gzip_decode(b2, len + 3, &out, &n, 1 << 20, "padded") == 0 && n == seeds[i].want_n,
                  "zero padding: %s", nl_error());
            free(out);
            b2[len + 1] = 'x';
            EXPECT_FAIL(gzip_decode(b2, len + 3, &out, &n, 1 << 20, "garbage.gz"), "garbage.gz", "unexpected bytes");
            free(b2);
        }
        free(b);
    }
    size_t len;
    uint8_t *raw = slurp("tests/fuzz/seeds/fuzz_gzip/raw.deflate", &len);
    CHECK(raw != NULL, "raw.deflate seed");
    if (raw) {
        uint8_t want[1524];
        for (int i = 0; i < 1024; i++) want[i] = (uint8_t)i;
        memcpy(want + 1024, t, 500);
        CHECK(inflate_raw(raw, len, &out, &n, 1 << 20, "raw") == 0 && n == 1524 && memcmp(out, want, n) == 0,
              "raw.deflate: %s", nl_error());
        free(out);
        free(raw);
    }

    /* header rules */
    Buf g = {0};
    gzip_stored(&g, (const uint8_t *)"abc", 3);
    g.p[3] = 0x20; /* reserved flag */
    EXPECT_FAIL(gzip_decode(g.p, g.n, &out, &n, 100, "flags.gz"), "flags.gz", "reserved");
    g.p[3] = 0;
    g.p[2] = 7;
    EXPECT_FAIL(gzip_decode(g.p, g.n, &out, &n, 100, "cm.gz"), "cm.gz", "compression method");
    g.p[2] = 8;
    g.p[g.n - 1] ^= 1; /* ISIZE */
    EXPECT_FAIL(gzip_decode(g.p, g.n, &out, &n, 100, "isize.gz"), "isize.gz", "length mismatch");
    g.p[g.n - 1] ^= 1;
    g.p[g.n - 5] ^= 1; /* CRC */
    EXPECT_FAIL(gzip_decode(g.p, g.n, &out, &n, 100, "crc.gz"), "crc.gz", "CRC-32");
    EXPECT_FAIL(gzip_decode((const uint8_t *)"PK\3\4zipfile", 11, &out, &n, 100, "a.zip"), "a.zip", "not gzip");
    free(g.p);
    g = (Buf){0}; /* a member may not reference data of the previous member */
    gzip_stored(&g, (const uint8_t *)"abc", 3);
    Bits w = {{0}, 0};
    bits_put(&w, 1, 1);
    bits_put(&w, 1, 2);
    fixed_sym(&w, 257);
    bits_code(&w, 0, 5);
    fixed_sym(&w, 256);
    static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    put(&g, head, 10);
    put(&g, w.b.p, w.b.n);
    put_le32(&g, crc32_update(0, (const uint8_t *)"ccc", 3));
    put_le32(&g, 3);
    EXPECT_FAIL(gzip_decode(g.p, g.n, &out, &n, 100, "members.gz"), "members.gz", "too far back");
    free(g.p);
    free(w.b.p);
    /* zlib header rules */
    const uint8_t dict[6] = {0x78, 0xbb, 0, 0, 0, 1};
    EXPECT_FAIL(zlib_decode(dict, 6, &out, &n, 100, "dict.z"), "dict.z", "dictionar");
    const uint8_t fcheck[6] = {0x78, 0x02, 1, 0, 0, 0xff};
    EXPECT_FAIL(zlib_decode(fcheck, 6, &out, &n, 100, "check.z"), "check.z", "header check");
}

/* ---- 2. IDX, PNG, shards */

static void test_idx(void) {
    uint8_t px[3 * 4 * 5], *out;
    int n, r, c;
    for (int i = 0; i < 60; i++) px[i] = (uint8_t)pixel(i % 5, (i / 5) % 4, i / 20);
    uint32_t dims[3] = {3, 4, 5};
    Buf b = idx_build(2051, 3, dims, px, 60);
    CHECK(idx_read_images(b.p, b.n, "img.idx", &out, &n, &r, &c) == 0 && n == 3 && r == 4 && c == 5 &&
              memcmp(out, px, 60) == 0,
          "raw idx: %s", nl_error());
    free(out);
    size_t len;
    uint8_t *seed = slurp("tests/fuzz/seeds/fuzz_idx/images.idx", &len);
    CHECK(seed && len == b.n && memcmp(seed, b.p, len) == 0, "images.idx seed equals the C-built file");
    free(seed);
    Buf g = {0};
    gzip_stored(&g, b.p, b.n);
    CHECK(idx_read_images(g.p, g.n, "img.idx.gz", &out, &n, &r, &c) == 0 && n == 3 && memcmp(out, px, 60) == 0,
          "gz idx: %s", nl_error());
    free(out);
    EXPECT_FAIL(idx_read_labels(g.p, g.n, "img.idx.gz", &out, &n), "img.idx.gz", "image file");
    free(g.p);
    seed = slurp("tests/fuzz/seeds/fuzz_idx/images.idx.gz", &len);
    CHECK(seed != NULL, "images.idx.gz seed");
    if (seed) {
        int ok = idx_read_images(seed, len, "seed.gz", &out, &n, &r, &c) == 0 && n == 4 && r == 7 && c == 6;
        for (int i = 0; ok && i < 4 * 7 * 6; i++) ok = out[i] == pixel(i % 6, (i / 6) % 7, i / 42);
        CHECK(ok, "images.idx.gz seed content: %s", nl_error());
        free(out);
        free(seed);
    }
    b.n--; /* truncated */
    EXPECT_FAIL(idx_read_images(b.p, b.n, "short.idx", &out, &n, &r, &c), "short.idx", "truncated");
    put8(&b, 0);
    put8(&b, 0); /* one byte too many */
    EXPECT_FAIL(idx_read_images(b.p, b.n, "long.idx", &out, &n, &r, &c), "long.idx", "unexpected bytes");
    free(b.p);

    uint8_t lb[5] = {1, 2, 3, 4, 5};
    uint32_t ld[1] = {5};
    b = idx_build(2049, 1, ld, lb, 5);
    CHECK(idx_read_labels(b.p, b.n, "l.idx", &out, &n) == 0 && n == 5 && memcmp(out, lb, 5) == 0, "labels: %s",
          nl_error());
    free(out);
    EXPECT_FAIL(idx_read_images(b.p, b.n, "l.idx", &out, &n, &r, &c), "l.idx", "label file");
    free(b.p);

    /* wrong magic, wrong type, absurd or zero dimensions: all refused before allocating */
    b = idx_build(0x08034b50, 3, dims, px, 60);
    EXPECT_FAIL(idx_read_images(b.p, b.n, "magic.idx", &out, &n, &r, &c), "magic.idx", "not an IDX");
    free(b.p);
    b = idx_build(0x0903, 3, dims, px, 60);
    EXPECT_FAIL(idx_read_images(b.p, b.n, "type.idx", &out, &n, &r, &c), "type.idx", "not supported");
    free(b.p);
    uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    b = idx_build(2051, 3, huge, px, 60);
    EXPECT_FAIL(idx_read_images(b.p, b.n, "huge.idx", &out, &n, &r, &c), "huge.idx", "dimension");
    free(b.p);
    uint32_t big[3] = {65536, 65536, 65536}; /* 2^48 bytes: wraps a 32-bit size_t to 0 */
    b = idx_build(2051, 3, big, px, 60);
    EXPECT_FAIL(idx_read_images(b.p, b.n, "big.idx", &out, &n, &r, &c), "big.idx", "absurdly large");
    free(b.p);
    uint32_t mnistish[3] = {60000, 28, 28};
    b = idx_build(2051, 3, mnistish, px, 60);
    EXPECT_FAIL(idx_read_images(b.p, b.n, "cut.idx", &out, &n, &r, &c), "cut.idx", "truncated");
    free(b.p);
    uint32_t zero[3] = {3, 0, 5};
    b = idx_build(2051, 3, zero, px, 0);
    EXPECT_FAIL(idx_read_images(b.p, b.n, "zero.idx", &out, &n, &r, &c), "zero.idx", "dimension 1 is 0");
    free(b.p);
    EXPECT_FAIL(idx_read_labels((const uint8_t *)"\0\0", 2, "tiny.idx", &out, &n), "tiny.idx", "too short");
}

static void test_png(void) {
    uint8_t *out;
    int w, h, c;
    /* every colour type x every filter, random pixels, odd sizes; 1 and 3 IDAT chunks */
    int ctypes[4] = {0, 2, 4, 6}, bpps[4] = {1, 3, 2, 4};
    for (int t = 0; t < 4; t++) {
        for (int f = -1; f < 5; f++) {
            int W = 13 + t, H = 9 + f + 1, bpp = bpps[t], ch = bpp == 1 || bpp == 2 ? 1 : 3;
            uint8_t *px = malloc((size_t)W * H * bpp);
            for (int i = 0; i < W * H * bpp; i++) px[i] = rnd8();
            Buf p = png_build(W, H, ctypes[t], px, f, f == 2 ? 3 : 1);
            int err = png_decode(p.p, p.n, "built.png", &out, &w, &h, &c);
            int ok = !err && w == W && h == H && c == ch;
            for (int i = 0; ok && i < W * H; i++)
                for (int k = 0; k < ch; k++) ok = ok && out[i * ch + k] == px[i * bpp + k];
            CHECK(ok, "ctype %d filter %d: %s", ctypes[t], f, err ? nl_error() : "wrong pixels");
            if (!err) free(out);
            free(p.p);
            free(px);
        }
    }
    /* the Python-encoded seeds (independent filter implementation, zlib level 9) */
    struct {
        const char *file;
        int w, h, ch, bpp;
    } seeds[] = {
        {"gray.png", 7, 10, 1, 1},  {"gray_alpha.png", 6, 10, 1, 2},     {"rgb.png", 5, 10, 3, 3},
        {"rgba.png", 4, 10, 3, 4}, {"rgb_3idat_text.png", 9, 11, 3, 3}, {"gray_1x1.png", 1, 1, 1, 1},
    };
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/seeds/fuzz_png/%s", seeds[s].file);
        size_t len;
        uint8_t *b = slurp(path, &len);
        CHECK(b != NULL, "missing seed %s", path);
        if (!b) continue;
        int err = png_decode(b, len, path, &out, &w, &h, &c);
        int ok = !err && w == seeds[s].w && h == seeds[s].h && c == seeds[s].ch;
        for (int y = 0; ok && y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++) ok = ok && out[(y * w + x) * c + k] == pixel(x, y, k);
        CHECK(ok, "%s: %s", path, err ? nl_error() : "wrong pixels");
        if (!err) free(out);
        free(b);
    }

    /* unsupported formats: clear messages */
    Buf p = png_header_only(4, 4, 8, 3, 0);
    EXPECT_FAIL(png_decode(p.p, p.n, "pal.png", &out, &w, &h, &c), "pal.png", "palette");
    free(p.p);
    p = png_header_only(4, 4, 16, 2, 0);
    EXPECT_FAIL(png_decode(p.p, p.n, "deep.png", &out, &w, &h, &c), "deep.png", "16-bit PNGs are not supported");
    free(p.p);
    p = png_header_only(4, 4, 4, 0, 0);
    EXPECT_FAIL(png_decode(p.p, p.n, "nibble.png", &out, &w, &h, &c), "nibble.png", "4-bit PNGs are not supported");
    free(p.p);
    p = png_header_only(4, 4, 8, 2, 1);
    EXPECT_FAIL(png_decode(p.p, p.n, "adam7.png", &out, &w, &h, &c), "adam7.png", "interlaced");
    free(p.p);
    p = png_header_only(4, 4, 8, 5, 0);
    EXPECT_FAIL(png_decode(p.p, p.n, "ctype5.png", &out, &w, &h, &c), "ctype5.png", "invalid bit depth");
    free(p.p);
    p = png_header_only(0x7fffffff, 0x7fffffff, 8, 6, 0);
    EXPECT_FAIL(png_decode(p.p, p.n, "huge.png", &out, &w, &h, &c), "huge.png", "too large");
    free(p.p);
    p = png_header_only(0, 4, 8, 0, 0);
    EXPECT_FAIL(png_decode(p.p, p.n, "zero.png", &out, &w, &h, &c), "zero.png", "invalid image size");
    free(p.p);
    p = png_header_only(3, 1, 8, 0, 0); /* IDAT holds 2 bytes, 3x1 gray needs 4 */
    EXPECT_FAIL(png_decode(p.p, p.n, "short.png", &out, &w, &h, &c), "short.png", "needs 4");
    free(p.p);
    p = png_header_only(1, 1, 8, 0, 0);
    CHECK(png_decode(p.p, p.n, "one.png", &out, &w, &h, &c) == 0 && w == 1 && h == 1 && c == 1 && out[0] == 0,
          "1x1 png: %s", nl_error());
    free(out);
    free(p.p);

    /* structural errors on a valid 2x2 RGB image */
    uint8_t px[12];
    for (int i = 0; i < 12; i++) px[i] = (uint8_t)(i * 20);
    Buf good = png_build(2, 2, 2, px, 0, 1);
    uint8_t *b = malloc(good.n + 64);
    memcpy(b, good.p, good.n);
    b[good.n - 1] ^= 1;
    EXPECT_FAIL(png_decode(b, good.n, "crc.png", &out, &w, &h, &c), "crc.png", "CRC mismatch in chunk IEND");
    EXPECT_FAIL(png_decode(good.p, good.n - 12, "noend.png", &out, &w, &h, &c), "noend.png", "IEND");
    EXPECT_FAIL(png_decode(good.p + 1, good.n - 1, "sig.png", &out, &w, &h, &c), "sig.png", "not a PNG");
    /* filter type 5 on row 0: rebuild with a patched raw stream */
    {
        uint8_t raw[14] = {5};
        Buf z = {0}, q = {0};
        zlib_stored(&z, raw, 14);
        put(&q, good.p, 8 + 25);
        chunk(&q, "IDAT", z.p, z.n);
        chunk(&q, "IEND", NULL, 0);
        EXPECT_FAIL(png_decode(q.p, q.n, "filter.png", &out, &w, &h, &c), "filter.png", "filter type 5");
        free(q.p);
        q = (Buf){0}; /* unknown critical chunk before IDAT */
        put(&q, good.p, 8 + 25);
        chunk(&q, "ABCD", raw, 3);
        put(&q, good.p + 33, good.n - 33);
        EXPECT_FAIL(png_decode(q.p, q.n, "crit.png", &out, &w, &h, &c), "crit.png", "ABCD is not supported");
        free(q.p);
        q = (Buf){0}; /* unknown ancillary chunk: ignored */
        put(&q, good.p, 8 + 25);
        chunk(&q, "abCD", raw, 3);
        put(&q, good.p + 33, good.n - 33);
        CHECK(png_decode(q.p, q.n, "anc.png", &out, &w, &h, &c) == 0 && memcmp(out, px, 12) == 0,
              "ancillary chunk skipped: %s", nl_error());
        free(out);
        free(q.p);
        q = (Buf){0}; /* no IDAT */
        put(&q, good.p, 8 + 25);
        chunk(&q, "IEND", NULL, 0);
        EXPECT_FAIL(png_decode(q.p, q.n, "noidat.png", &out, &w, &h, &c), "noidat.png", "no IDAT");
        free(q.p);
        q = (Buf){0}; /* IHDR not first */
        put(&q, good.p, 8);
        chunk(&q, "tEXt", raw, 3);
        put(&q, good.p + 8, good.n - 8);
        EXPECT_FAIL(png_decode(q.p, q.n, "order.png", &out, &w, &h, &c), "order.png", "not IHDR");
        free(q.p);
        q = (Buf){0}; /* too much image data */
        uint8_t raw2[15] = {0};
        z.n = 0;
        zlib_stored(&z, raw2, 15);
        put(&q, good.p, 8 + 25);
        chunk(&q, "IDAT", z.p, z.n);
        chunk(&q, "IEND", NULL, 0);
        EXPECT_FAIL(png_decode(q.p, q.n, "long.png", &out, &w, &h, &c), "long.png", "holds 15 bytes");
        free(q.p);
        free(z.p);
    }
    free(b);
    free(good.p);
}

static Buf shard_bytes(int n, int c, int hh, int ww, int classes) {
    Shard s = {n, c, hh, ww, classes, malloc((size_t)n * c * hh * ww), malloc((size_t)n)};
    for (int i = 0; i < n * c * hh * ww; i++) s.pixels[i] = rnd8();
    for (int i = 0; i < n; i++) s.labels[i] = (uint8_t)(i % classes);
    Buf b = {0};
    CHECK(shard_write(&s, &b.p, &b.n) == 0, "shard_write: %s", nl_error());
    shard_free(&s);
    return b;
}

static void reseal(Buf *b) { set_le32(b->p + b->n - 4, crc32_update(0, b->p, b->n - 4)); }

static void test_shard(void) {
    Shard s = {7, 3, 4, 5, 10, malloc(7 * 60), malloc(7)};
    for (int i = 0; i < 7 * 60; i++) s.pixels[i] = rnd8();
    for (int i = 0; i < 7; i++) s.labels[i] = (uint8_t)(i * 3 % 10);
    uint8_t *buf;
    size_t len;
    CHECK(shard_write(&s, &buf, &len) == 0 && len == 40 + 7 * 60 + 7 + 4, "shard_write size");
    Shard r;
    CHECK(shard_read(buf, len, "t.shard", &r) == 0, "shard_read: %s", nl_error());
    CHECK(r.n == 7 && r.c == 3 && r.h == 4 && r.w == 5 && r.classes == 10 && memcmp(r.pixels, s.pixels, 420) == 0 &&
              memcmp(r.labels, s.labels, 7) == 0,
          "shard round trip");
    CHECK(memcmp(buf, "NLSHARD1", 8) == 0 && buf[8] == 1 && buf[12] == 7 && buf[16] == 3, "shard layout");
    shard_free(&r);
    CHECK(r.pixels == NULL && r.labels == NULL, "shard_free clears");
    free(buf);
    s.labels[3] = 10;
    EXPECT_FAIL(shard_write(&s, &buf, &len), "shard_write", "label 10 of image 3");
    s.labels[3] = 0;
    s.classes = 300;
    EXPECT_FAIL(shard_write(&s, &buf, &len), "shard_write", "class count");
    shard_free(&s);

    size_t len2;
    uint8_t *seed = slurp("tests/fuzz/seeds/fuzz_shard/rgb.shard", &len2);
    CHECK(seed && shard_read(seed, len2, "rgb.shard", &r) == 0 && r.n == 3 && r.c == 3 && r.h == 5 && r.w == 4,
          "Python-written shard seed: %s", nl_error());
    if (seed) shard_free(&r), free(seed);

    /* every header field, each with a valid CRC so that the field check itself fires */
    struct {
        int off;
        uint32_t v;
        const char *sub;
    } bad[] = {
        {8, 2, "version 2"},           {12, 0, "image count 0"},     {16, 0, "channel count 0"},
        {16, 5, "channel count 5"},    {20, 0, "image size 0x"},     {24, 70000, "image size"},
        {28, 0, "class count 0"},      {28, 257, "class count 257"}, {32, 1, "flags"},
        {36, 9, "reserved"},           {12, 8, "truncated"},         {12, 6, "trailing"},
        {12, 0xffffffffu, "image count"}, {20, 65535, "too large"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Buf b = shard_bytes(7, 1, 3, 3, 4);
        if (bad[i].off == 20 && bad[i].v == 65535) set_le32(b.p + 24, 65535), set_le32(b.p + 12, 1000);
        set_le32(b.p + bad[i].off, bad[i].v);
        reseal(&b);
        Shard t;
        EXPECT_FAIL(shard_read(b.p, b.n, "bad.shard", &t), "bad.shard", bad[i].sub);
        free(b.p);
    }
    Buf b = shard_bytes(7, 1, 3, 3, 4);
    b.p[40 + 63 + 2] = 4; /* label 2 = classes */
    reseal(&b);
    EXPECT_FAIL(shard_read(b.p, b.n, "label.shard", &r), "label.shard", "label 4 of image 2");
    b.p[0] = 'X';
    EXPECT_FAIL(shard_read(b.p, b.n, "magic.shard", &r), "magic.shard", "bad magic");
    b.p[0] = 'N';
    b.p[50] ^= 1;
    EXPECT_FAIL(shard_read(b.p, b.n, "crc.shard", &r), "crc.shard", "CRC mismatch");
    EXPECT_FAIL(shard_read(b.p, 43, "tiny.shard", &r), "tiny.shard", "too short");
    free(b.p);
}

/* ---- 3. corruption sweep */

typedef int (*Reader)(const uint8_t *buf, size_t len, const char *what, uint8_t **out, size_t *n);

static int rd_gzip(const uint8_t *b, size_t len, const char *what, uint8_t **out, size_t *n) {
    return gzip_decode(b, len, out, n, 1 << 20, what);
}
static int rd_idx(const uint8_t *b, size_t len, const char *what, uint8_t **out, size_t *n) {
    int k, r, c;
    if (idx_read_images(b, len, what, out, &k, &r, &c)) return -1;
    *n = (size_t)k * r * c;
    return 0;
}
static int rd_png(const uint8_t *b, size_t len, const char *what, uint8_t **out, size_t *n) {
    int w, h, c;
    if (png_decode(b, len, what, out, &w, &h, &c)) return -1;
    *n = (size_t)w * h * c;
    return 0;
}
static int rd_shard(const uint8_t *b, size_t len, const char *what, uint8_t **out, size_t *n) {
    Shard s;
    if (shard_read(b, len, what, &s)) return -1;
    *n = (size_t)s.n * s.c * s.h * s.w + (size_t)s.n;
    *out = malloc(*n);
    memcpy(*out, s.pixels, *n - (size_t)s.n);
    memcpy(*out + *n - s.n, s.labels, (size_t)s.n);
    shard_free(&s);
    return 0;
}

/* Truncation at every length and flips (xor 0xff, 0x01, 0x80) at every byte
   position of data[0, flip_end): all must fail with a proper message. With
   allow_same (gzip), a flip may also decode to exactly the original output:
   gzip leaves MTIME, XFL, OS, the FTEXT bit and the padding bits of DEFLATE
   unprotected, while the CRC-32 of the output guarantees that no *different*
   data is ever accepted. Inputs are exact-size heap copies so that ASan catches
   any read past the end. */
static void sweep(const char *name, Reader rd, const uint8_t *data, size_t len, size_t flip_end,
                  int allow_same) {
    uint8_t *ref;
    size_t ref_n;
    if (rd(data, len, name, &ref, &ref_n)) {
        CHECK(0, "sweep %s: the valid input fails: %s", name, nl_error());
        return;
    }
    int bad_trunc = 0, bad_flip = 0, cases = 0, same_flips = 0;
    for (size_t t = 0; t < len; t++) {
        uint8_t *c = malloc(t ? t : 1), *out;
        memcpy(c, data, t);
        size_t n;
        nl_clear_error();
        cases++;
        if (rd(c, t, name, &out, &n) == 0) {
            bad_trunc++;
            free(out);
            if (bad_trunc < 4) fprintf(stderr, "sweep %s: truncation to %zu bytes decodes\n", name, t);
        } else if (!msg_ok(name, NULL)) {
            bad_trunc++;
            if (bad_trunc < 4) fprintf(stderr, "sweep %s: bad message \"%s\"\n", name, nl_error());
        }
        free(c);
    }
    static const uint8_t masks[3] = {0xff, 0x01, 0x80};
    uint8_t *c = malloc(len);
    for (size_t pos = 0; pos < flip_end; pos++) {
        for (int m = 0; m < 3; m++) {
            memcpy(c, data, len);
            c[pos] ^= masks[m];
            uint8_t *out;
            size_t n;
            nl_clear_error();
            cases++;
            if (rd(c, len, name, &out, &n) == 0) {
                int same = n == ref_n && memcmp(out, ref, n) == 0;
                free(out);
                if (same && allow_same) {
                    same_flips++;
                } else {
                    bad_flip++;
                    if (bad_flip < 4) fprintf(stderr, "sweep %s: flip ^%02x at %zu decodes\n", name, masks[m], pos);
                }
            } else if (!msg_ok(name, NULL)) {
                bad_flip++;
                if (bad_flip < 4) fprintf(stderr, "sweep %s: bad message \"%s\"\n", name, nl_error());
            }
        }
    }
    free(c);
    free(ref);
    CHECK(bad_trunc == 0, "sweep %s: %d bad truncations", name, bad_trunc);
    CHECK(bad_flip == 0, "sweep %s: %d bad flips", name, bad_flip);
    printf("  sweep %-20s %4zu bytes, %5d cases, all fail", name, len, cases);
    if (same_flips) printf(" except %d flips of unprotected bits (same output)", same_flips);
    printf("\n");
}

static void test_sweeps(void) {
    /* (a truncated multi-member gzip can be a valid shorter file, so multi.gz is not swept) */
    const char *files[] = {"fuzz_gzip/dynamic.gz", "fuzz_gzip/fixed.gz", "fuzz_gzip/stored.gz",
                           "fuzz_idx/images.idx.gz", "fuzz_png/rgb.png", "fuzz_png/gray_alpha.png",
                           "fuzz_png/rgb_3idat_text.png", "fuzz_shard/gray.shard", "fuzz_shard/rgb.shard"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/seeds/%s", files[i]);
        size_t len;
        uint8_t *d = slurp(path, &len);
        CHECK(d != NULL, "missing %s", path);
        if (!d) continue;
        const char *name = strrchr(files[i], '/') + 1;
        if (strstr(name, ".idx.gz")) sweep(name, rd_idx, d, len, len, 1);
        else if (strstr(name, ".gz")) sweep(name, rd_gzip, d, len, len, 1);
        else if (strstr(name, ".png")) sweep(name, rd_png, d, len, len, 0);
        else sweep(name, rd_shard, d, len, len, 0);
        free(d);
    }
    /* raw IDX: truncations, and flips of the 16-byte header (pixel flips are undetectable) */
    size_t len;
    uint8_t *d = slurp("tests/fuzz/seeds/fuzz_idx/images.idx", &len);
    if (d) sweep("images.idx", rd_idx, d, len, 16, 0), free(d);
    /* a C-built PNG with stored zlib blocks (other byte layout than Python's) */
    uint8_t px[5 * 4 * 4];
    for (int i = 0; i < 80; i++) px[i] = rnd8();
    Buf p = png_build(5, 4, 6, px, -1, 2);
    sweep("built_rgba.png", rd_png, p.p, p.n, p.n, 0);
    free(p.p);
}

static void test_builder(void) {
    /* RGB: 2 images of 2x3 from a sprite (rows = images, interleaved), 2 from CIFAR-style records */
    uint8_t sprite[2 * 6 * 3];
    for (int i = 0; i < 36; i++) sprite[i] = (uint8_t)(i * 7);
    Buf png = png_build(6, 2, 2, sprite, -1, 1);
    uint8_t rec[2 * 19];
    for (int i = 0; i < 38; i++) rec[i] = (uint8_t)(100 + i);
    rec[0] = 1, rec[19] = 2; /* labels */
    NlShardBuilder *b = nl_shard_new(4, 3, 2, 3, 5, "t/train.shard");
    CHECK(b != NULL, "nl_shard_new: %s", nl_error());
    CHECK(nl_shard_put_png_rows(b, 0, png.p, (uint32_t)png.n, 2, "s.png") == 2, "png rows: %s", nl_error());
    CHECK(nl_shard_put_cifar_bin(b, 2, rec, sizeof rec, -1, "r.bin") == 2, "cifar bin: %s", nl_error());
    uint32_t len;
    EXPECT_FAIL(nl_shard_finish(b, &len) ? 0 : -1, "t/train.shard", "images 0..1 have no labels");
    const uint8_t lb[2] = {4, 0};
    CHECK(nl_shard_put_labels(b, 0, lb, 2, "labels.json") == 2, "labels: %s", nl_error());
    const uint8_t *sh = nl_shard_finish(b, &len);
    CHECK(sh && len == 40 + 4 * 18 + 4 + 4, "finish: %s", nl_error());
    Shard s;
    if (sh && shard_read(sh, len, "built.shard", &s) == 0) {
        int ok = s.n == 4 && s.c == 3 && s.h == 2 && s.w == 3 && s.classes == 5;
        for (int i = 0; i < 2 && ok; i++) /* NCHW from interleaved rows */
            for (int k = 0; k < 3; k++)
                for (int j = 0; j < 6; j++) ok = ok && s.pixels[i * 18 + k * 6 + j] == sprite[i * 18 + j * 3 + k];
        ok = ok && memcmp(s.pixels + 36, rec + 1, 18) == 0 && memcmp(s.pixels + 54, rec + 20, 18) == 0;
        ok = ok && s.labels[0] == 4 && s.labels[1] == 0 && s.labels[2] == 1 && s.labels[3] == 2;
        CHECK(ok, "built shard content");
        int32_t info[5];
        CHECK(nl_shard_info(sh, len, "built.shard", info) == 0 && info[0] == 4 && info[4] == 5, "nl_shard_info");
        shard_free(&s);
    } else {
        CHECK(0, "built shard does not read back: %s", nl_error());
    }
    /* refusals, each naming the source */
    EXPECT_FAIL(nl_shard_put_png_rows(b, 3, png.p, (uint32_t)png.n, 2, "s.png"), "s.png", "do not fit");
    EXPECT_FAIL(nl_shard_put_png_rows(b, 0, png.p, (uint32_t)png.n, 3, "s.png"), "s.png", "holds 2 items, 3 were expected");
    EXPECT_FAIL(nl_shard_put_cifar_bin(b, 0, rec, sizeof rec - 1, -1, "cut.bin"), "cut.bin", "whole number");
    rec[19] = 5;
    EXPECT_FAIL(nl_shard_put_cifar_bin(b, 0, rec, sizeof rec, -1, "lab.bin"), "lab.bin", "label 5 of item 1");
    EXPECT_FAIL(nl_shard_put_idx_images(b, 0, png.p, (uint32_t)png.n, -1, "x.idx"), "x.idx", "not an IDX");
    uint32_t dims[3] = {2, 2, 3};
    Buf im = idx_build(2051, 3, dims, sprite, 12);
    EXPECT_FAIL(nl_shard_put_idx_images(b, 0, im.p, (uint32_t)im.n, -1, "gray.idx"), "gray.idx", "needs 3x2x3");
    nl_shard_free(b);
    b = nl_shard_new(2, 1, 2, 3, 10, "g/test.shard");
    CHECK(nl_shard_put_idx_images(b, 0, im.p, (uint32_t)im.n, -1, "gray.idx") == 2, "idx images: %s", nl_error());
    EXPECT_FAIL(nl_shard_put_png_rows(b, 0, png.p, (uint32_t)png.n, -1, "rgb.png"), "rgb.png", "cannot hold");
    uint32_t ld[1] = {2};
    const uint8_t l2[2] = {9, 3};
    Buf lf = idx_build(2049, 1, ld, l2, 2);
    CHECK(nl_shard_put_idx_labels(b, 0, lf.p, (uint32_t)lf.n, 2, "l.idx") == 2, "idx labels: %s", nl_error());
    CHECK(nl_shard_finish(b, &len) != NULL, "finish gray: %s", nl_error());
    nl_shard_free(b);
    CHECK(nl_shard_new(0, 1, 2, 2, 10, "bad") == NULL && msg_ok("bad", "invalid shard shape"), "n = 0 refused");
    CHECK(nl_shard_new(1 << 20, 3, 4096, 4096, 10, "huge") == NULL && msg_ok("huge", "2^31"), "huge refused");
    nl_shard_free(NULL);
    free(png.p);
    free(im.p);
    free(lf.p);
}

/* ---- 4. real data */

static const char *data_dir(void) {
    const char *d = getenv("NOISYLAB_DATA_DIR");
    return d && *d ? d : "../shared/datasets";
}

static uint8_t *load(const char *dir, const char *file, size_t *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return slurp(path, n);
}

static void test_real_data(void) {
    const char *dd = data_dir();
    size_t len;
    uint8_t *b = load(dd, "mnist/t10k-images-idx3-ubyte.gz", &len);
    if (!b) {
        printf("  note: %s/mnist not found: skipping the real-data tests for MNIST and CIFAR-10\n", dd);
    } else {
        clock_t t0 = clock();
        uint8_t *t10k = NULL, *lb = NULL;
        int n = 0, r = 0, c = 0, nl = 0;
        CHECK(idx_read_images(b, len, "t10k-images-idx3-ubyte.gz", &t10k, &n, &r, &c) == 0 && n == 10000 &&
                  r == 28 && c == 28,
              "t10k images: %s", nl_error());
        free(b);
        if (!t10k) return;
        long sum0 = 0;
        for (int i = 0; i < 784; i++) sum0 += t10k[i];
        CHECK(sum0 == 18454 && t10k[202] == 0x54 && t10k[203] == 0xb9, "t10k image 0 pixels (sum %ld)", sum0);
        b = load(dd, "mnist/t10k-labels-idx1-ubyte.gz", &len);
        CHECK(b && idx_read_labels(b, len, "t10k-labels-idx1-ubyte.gz", &lb, &nl) == 0 && nl == 10000,
              "t10k labels: %s", nl_error());
        free(b);
        int counts[10] = {0}, want[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
        for (int i = 0; i < nl; i++) counts[lb[i] < 10 ? lb[i] : 0]++;
        CHECK(memcmp(counts, want, sizeof want) == 0 && lb[0] == 7 && lb[1] == 2 && lb[9] == 9,
              "t10k label counts");
        free(lb);
        /* sprite 20 holds t10k images 0..2999: two decoders, one answer */
        uint8_t *px = NULL;
        int w = 0, h = 0, ch = 0;
        b = load(dd, "mnist-convnetjs/mnist_batch_20.png", &len);
        CHECK(b && png_decode(b, len, "mnist_batch_20.png", &px, &w, &h, &ch) == 0 && w == 784 && h == 3000 &&
                  ch == 1,
              "mnist sprite 20: %s", nl_error());
        free(b);
        if (px) CHECK(memcmp(px, t10k, 3000 * 784) == 0, "mnist sprite 20 == t10k images 0..2999");
        free(px);
        free(t10k);
        /* training mean over the 20 training sprites */
        double sum = 0;
        int ok = 1;
        for (int s = 0; s < 20 && ok; s++) {
            char f[64];
            snprintf(f, sizeof f, "mnist-convnetjs/mnist_batch_%d.png", s);
            b = load(dd, f, &len);
            ok = b && png_decode(b, len, f, &px, &w, &h, &ch) == 0 && w == 784 && h == 3000;
            free(b);
            if (!ok) break;
            uint64_t part = 0;
            for (size_t i = 0; i < (size_t)784 * 3000; i++) part += px[i];
            sum += (double)part;
            free(px);
        }
        CHECK(ok, "mnist training sprites: %s", nl_error());
        if (ok) CHECK_CLOSE(sum / (60000.0 * 784 * 255), 0.1306604762738429, 1e-12, "mnist training mean");
        lb = NULL;
        nl = 0;
        b = load(dd, "mnist/train-labels-idx1-ubyte.gz", &len);
        CHECK(b && idx_read_labels(b, len, "train-labels-idx1-ubyte.gz", &lb, &nl) == 0 && nl == 60000 &&
                  lb[0] == 5 && lb[1] == 0 && lb[2] == 4,
              "mnist train labels: %s", nl_error());
        free(b);
        free(lb);
        printf("  mnist real-data checks: %.2f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);

        t0 = clock();
        px = NULL;
        b = load(dd, "cifar10-convnetjs/cifar10_batch_50.png", &len);
        CHECK(b && png_decode(b, len, "cifar10_batch_50.png", &px, &w, &h, &ch) == 0 && w == 1024 && h == 1000 &&
                  ch == 3,
              "cifar sprite 50: %s", nl_error());
        free(b);
        if (px) { /* data[c*1024 + j] == sprite[r][j][c] */
            CHECK(px[0] == 158 && px[3] == 159 && px[6] == 165, "cifar test image 0 starts 158 159 165 (%d %d %d)",
                  px[0], px[3], px[6]);
            CHECK(px[1021 * 3 + 2] == 124 && px[1022 * 3 + 2] == 129 && px[1023 * 3 + 2] == 110,
                  "cifar test image 0 ends 124 129 110");
            free(px);
        }
        px = NULL;
        b = load(dd, "cifar10-convnetjs/cifar10_batch_0.png", &len);
        CHECK(b && png_decode(b, len, "cifar10_batch_0.png", &px, &w, &h, &ch) == 0, "cifar sprite 0: %s",
              nl_error());
        free(b);
        if (px) {
            const int red[10] = {59, 43, 50, 68, 98, 119, 139, 145, 149, 149};
            int ok2 = 1;
            for (int j = 0; j < 10; j++) ok2 = ok2 && px[j * 3] == red[j];
            CHECK(ok2, "cifar training image 0, red row 0");
            free(px);
        }
        printf("  cifar real-data checks: %.2f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    }

    const char *fd = getenv("NOISYLAB_FASHION_DIR");
    if (!fd || !*fd) fd = "/usr/share/datasets/fashion-mnist";
    b = load(fd, "t10k-labels-idx1-ubyte.gz", &len);
    if (!b) {
        printf("  note: %s not found: skipping the Fashion-MNIST checks\n", fd);
        return;
    }
    uint8_t *lb = NULL;
    int nl = 0;
    CHECK(idx_read_labels(b, len, "t10k-labels-idx1-ubyte.gz", &lb, &nl) == 0 && nl == 10000,
          "fashion t10k labels: %s", nl_error());
    free(b);
    if (!lb) return;
    const uint8_t first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    int counts[10] = {0};
    for (int i = 0; i < nl; i++) counts[lb[i] < 10 ? lb[i] : 0]++;
    int even = 1;
    for (int k = 0; k < 10; k++) even = even && counts[k] == 1000;
    CHECK(memcmp(lb, first, 10) == 0 && even, "fashion t10k labels: first ten and 1000 per class");
    free(lb);
    b = load(fd, "t10k-images-idx3-ubyte.gz", &len);
    uint8_t *px = NULL;
    int n = 0, r = 0, c = 0;
    CHECK(b && idx_read_images(b, len, "t10k-images-idx3-ubyte.gz", &px, &n, &r, &c) == 0 && n == 10000 && r == 28 &&
              c == 28,
          "fashion t10k images: %s", nl_error());
    free(b);
    if (!px) return;
    long s0 = 0;
    for (int i = 0; i < 784; i++) s0 += px[i];
    CHECK(s0 == 33456, "fashion t10k image 0 pixel sum %ld", s0);
    free(px);
}

int main(void) {
    rng_init(&rng, 7, STREAM_DATA);
    test_crc();
    test_inflate_basic();
    test_bomb();
    test_gzip();
    test_idx();
    test_png();
    test_shard();
    test_sweeps();
    test_builder();
    test_real_data();
    return check_summary("test_readers");
}
