/* inflate.c: DEFLATE (RFC 1951) decoding, with the zlib (RFC 1950) and gzip
   (RFC 1952) wrappers, and CRC-32.

   Written in the spirit of Mark Adler's puff.c (same structure: stored, fixed
   and dynamic blocks, canonical Huffman codes described by count[] and
   symbol[]), with one addition for speed: every Huffman code also gets a
   lookup table indexed by the next FAST_BITS input bits, so the common short
   codes decode in one step. The ConvNetJS sprites are ~120 MB of DEFLATE, and
   bit-by-bit decoding would take minutes in WASM. Codes longer than FAST_BITS
   (rare) take puff's bit-by-bit path.

   Safety: input is read through one bit buffer that never reads past in_len
   (running out is a "truncated" error); every output write goes through
   reserve(), which enforces max_out; every back-reference is checked against
   the output produced so far. No zlib: the same code compiles to WASM as is. */
#include "err.h"
#include "readers.h"

#include <stdlib.h>
#include <string.h>

#define MAXBITS 15    /* longest code allowed by DEFLATE */
#define MAXLCODES 286 /* literal/length symbols that may appear in a dynamic header */
#define MAXDCODES 30  /* distance symbols */
#define FIXLCODES 288 /* literal/length symbols of the fixed code (286, 287 invalid) */
#define FAST_BITS 10  /* lookup-table width: 1024 entries cover nearly all codes */

#define HINT_CORRUPT "the file is damaged or truncated; copy or download it again"
#define HINT_CAP "the data is larger than expected: the file is corrupt, not the file you meant, or a decompression bomb"

typedef struct {
    uint16_t count[MAXBITS + 1]; /* number of codes of each length (count[0]: unused symbols) */
    uint16_t symbol[FIXLCODES];  /* symbols ordered by code (length, then value) */
    uint16_t fast[1 << FAST_BITS]; /* next FAST_BITS bits -> (symbol << 4) | length; 0: use slow path */
} Huff;

typedef struct {
    const uint8_t *in;
    size_t in_len, pos; /* next byte to load into bitbuf */
    uint64_t bitbuf;    /* bits not yet consumed, LSB first */
    int bitcnt;
    uint8_t *out;
    size_t out_len, out_cap, max_out;
    size_t base;      /* start of this stream's output (gzip members are independent) */
    const char *why;  /* reason of failure */
    const char *hint; /* what to do about it */
    Huff lencode, distcode;
    Huff fixlen, fixdist;
    int fixed_ready;
} Inflate;

static const char cap_why[] = "decompressed size exceeds the limit";

static int bad(Inflate *s, const char *why) {
    s->why = why;
    s->hint = HINT_CORRUPT;
    return -1;
}

/* ---- CRC-32 (IEEE 802.3, reflected 0xEDB88320), as used by gzip and PNG */

static uint32_t crc_table[256];
static int crc_ready;

uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    if (!crc_ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
        crc_ready = 1;
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t adler32(const uint8_t *p, size_t n) {
    uint32_t a = 1, b = 0;
    while (n > 0) {
        size_t k = n < 5552 ? n : 5552; /* largest run before b can overflow 32 bits */
        n -= k;
        while (k--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

/* ---- bit input */

static void refill(Inflate *s) {
    while (s->bitcnt <= 56 && s->pos < s->in_len) {
        s->bitbuf |= (uint64_t)s->in[s->pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
}

static int bits(Inflate *s, int n, uint32_t *v) {
    if (s->bitcnt < n) {
        refill(s);
        if (s->bitcnt < n) return bad(s, "data ends in the middle of a block");
    }
    *v = (uint32_t)(s->bitbuf & ((1u << n) - 1));
    s->bitbuf >>= n;
    s->bitcnt -= n;
    return 0;
}

/* Whole bytes still in the bit buffer go back to the input (used before stored
   blocks and at the end of the stream, which are byte-aligned). */
static void align_to_byte(Inflate *s) {
    s->bitbuf >>= s->bitcnt & 7;
    s->bitcnt -= s->bitcnt & 7;
    s->pos -= (size_t)(s->bitcnt >> 3);
    s->bitbuf = 0;
    s->bitcnt = 0;
}

/* ---- output */

static int reserve(Inflate *s, size_t n) {
    if (n <= s->out_cap - s->out_len) return 0;
    if (n > s->max_out - s->out_len) {
        s->why = cap_why;
        s->hint = HINT_CAP;
        return -1;
    }
    size_t cap = s->out_cap > s->max_out / 2 ? s->max_out : s->out_cap * 2;
    if (cap < s->out_len + n) cap = s->out_len + n;
    if (cap < 4096 && s->max_out >= 4096) cap = 4096;
    uint8_t *p = realloc(s->out, cap ? cap : 1);
    if (!p) {
        s->why = "out of memory";
        s->hint = "close other tabs or programs, or use a smaller dataset";
        return -1;
    }
    s->out = p;
    s->out_cap = cap;
    return 0;
}

/* ---- Huffman codes */

static int reverse_bits(int code, int len) {
    int r = 0;
    while (len--) {
        r = r << 1 | (code & 1);
        code >>= 1;
    }
    return r;
}

/* Builds h from code lengths. Returns 0 for a complete code, > 0 for an
   incomplete one, < 0 for an over-subscribed one (as puff's construct()). */
static int build(Huff *h, const uint8_t *length, int n) {
    memset(h->count, 0, sizeof h->count);
    memset(h->fast, 0, sizeof h->fast);
    for (int i = 0; i < n; i++) h->count[length[i]]++;
    if (h->count[0] == n) return 0; /* no codes: "complete", but any decode fails */

    int left = 1; /* codes of the current length still unused */
    for (int len = 1; len <= MAXBITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return left;
    }

    uint16_t offs[MAXBITS + 1];
    offs[1] = 0;
    for (int len = 1; len < MAXBITS; len++) offs[len + 1] = offs[len] + h->count[len];
    for (int sym = 0; sym < n; sym++)
        if (length[sym]) h->symbol[offs[length[sym]]++] = (uint16_t)sym;

    /* Canonical codes are consecutive within a length; DEFLATE sends them MSB
       first, so the table is indexed by the bit-reversed code and each short
       code fills every entry whose low `len` bits match it. */
    int code = 0, k = 0;
    for (int len = 1; len <= FAST_BITS; len++) {
        for (int i = 0; i < h->count[len]; i++, k++, code++) {
            uint16_t e = (uint16_t)(h->symbol[k] << 4 | len);
            for (int j = reverse_bits(code, len); j < (1 << FAST_BITS); j += 1 << len) h->fast[j] = e;
        }
        code <<= 1;
    }
    return left;
}

static int decode(Inflate *s, const Huff *h) {
    if (s->bitcnt < MAXBITS) refill(s);
    unsigned e = h->fast[s->bitbuf & ((1u << FAST_BITS) - 1)];
    if (e) {
        int len = (int)(e & 15);
        if (len > s->bitcnt) return bad(s, "data ends in the middle of a block");
        s->bitbuf >>= len;
        s->bitcnt -= len;
        return (int)(e >> 4);
    }
    /* slow path (puff's decode): long codes, invalid codes, or the end of input */
    uint64_t b = s->bitbuf;
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAXBITS; len++) {
        if (len > s->bitcnt) return bad(s, "data ends in the middle of a block");
        code |= (int)(b & 1);
        b >>= 1;
        int count = h->count[len];
        if (code - count < first) {
            s->bitbuf >>= len;
            s->bitcnt -= len;
            return h->symbol[index + (code - first)];
        }
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    return bad(s, "invalid Huffman code");
}

/* ---- blocks */

static int stored(Inflate *s) {
    uint32_t len, nlen;
    s->bitbuf >>= s->bitcnt & 7; /* skip to the byte boundary */
    s->bitcnt -= s->bitcnt & 7;
    if (bits(s, 16, &len) || bits(s, 16, &nlen)) return -1;
    if (len != (~nlen & 0xffff)) return bad(s, "stored block length check failed");
    align_to_byte(s);
    if (len > s->in_len - s->pos) return bad(s, "data ends in the middle of a stored block");
    if (reserve(s, len)) return -1;
    memcpy(s->out + s->out_len, s->in + s->pos, len);
    s->out_len += len;
    s->pos += len;
    return 0;
}

static int codes(Inflate *s, const Huff *lencode, const Huff *distcode) {
    static const uint16_t lbase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                       31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const uint8_t lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                     2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const uint16_t dbase[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const uint8_t dext[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                     6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
        int sym = decode(s, lencode);
        if (sym < 0) return -1;
        if (sym < 256) {
            if (s->out_len == s->out_cap && reserve(s, 1)) return -1;
            s->out[s->out_len++] = (uint8_t)sym;
        } else if (sym == 256) {
            return 0;
        } else {
            sym -= 257;
            if (sym >= 29) return bad(s, "invalid length symbol");
            uint32_t extra;
            if (bits(s, lext[sym], &extra)) return -1;
            size_t len = lbase[sym] + extra;
            int dsym = decode(s, distcode);
            if (dsym < 0) return -1;
            if (dsym >= 30) return bad(s, "invalid distance symbol");
            if (bits(s, dext[dsym], &extra)) return -1;
            size_t dist = dbase[dsym] + extra;
            if (dist > s->out_len - s->base) return bad(s, "distance too far back");
            if (reserve(s, len)) return -1;
            uint8_t *to = s->out + s->out_len;
            const uint8_t *from = to - dist;
            if (dist >= len) {
                memcpy(to, from, len);
            } else {
                for (size_t i = 0; i < len; i++) to[i] = from[i]; /* overlapping: a run */
            }
            s->out_len += len;
        }
    }
}

static int fixed(Inflate *s) {
    if (!s->fixed_ready) {
        uint8_t lengths[FIXLCODES];
        int i = 0;
        for (; i < 144; i++) lengths[i] = 8;
        for (; i < 256; i++) lengths[i] = 9;
        for (; i < 280; i++) lengths[i] = 7;
        for (; i < FIXLCODES; i++) lengths[i] = 8;
        build(&s->fixlen, lengths, FIXLCODES);
        for (i = 0; i < MAXDCODES; i++) lengths[i] = 5;
        build(&s->fixdist, lengths, MAXDCODES);
        s->fixed_ready = 1;
    }
    return codes(s, &s->fixlen, &s->fixdist);
}

static int dynamic(Inflate *s) {
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint8_t lengths[MAXLCODES + MAXDCODES];
    uint32_t nlen, ndist, ncode, v;
    if (bits(s, 5, &nlen) || bits(s, 5, &ndist) || bits(s, 4, &ncode)) return -1;
    nlen += 257;
    ndist += 1;
    ncode += 4;
    if (nlen > MAXLCODES || ndist > MAXDCODES) return bad(s, "too many length or distance codes");

    uint32_t i = 0;
    for (; i < ncode; i++) {
        if (bits(s, 3, &v)) return -1;
        lengths[order[i]] = (uint8_t)v;
    }
    for (; i < 19; i++) lengths[order[i]] = 0;
    if (build(&s->lencode, lengths, 19) != 0) return bad(s, "invalid code-length code");

    uint32_t index = 0;
    while (index < nlen + ndist) {
        int sym = decode(s, &s->lencode);
        if (sym < 0) return -1;
        if (sym < 16) {
            lengths[index++] = (uint8_t)sym;
            continue;
        }
        uint8_t len = 0; /* repeated value: 0 for codes 17 and 18 */
        uint32_t rep;
        if (sym == 16) {
            if (index == 0) return bad(s, "repeat of a code length with no previous length");
            len = lengths[index - 1];
            if (bits(s, 2, &v)) return -1;
            rep = 3 + v;
        } else if (sym == 17) {
            if (bits(s, 3, &v)) return -1;
            rep = 3 + v;
        } else {
            if (bits(s, 7, &v)) return -1;
            rep = 11 + v;
        }
        if (index + rep > nlen + ndist) return bad(s, "too many code lengths");
        while (rep--) lengths[index++] = len;
    }
    if (lengths[256] == 0) return bad(s, "no end-of-block code");

    /* incomplete codes are allowed only when they hold a single code of length 1 */
    int err = build(&s->lencode, lengths, (int)nlen);
    if (err < 0 || (err > 0 && nlen != (uint32_t)(s->lencode.count[0] + s->lencode.count[1])))
        return bad(s, "invalid literal/length code lengths");
    err = build(&s->distcode, lengths + nlen, (int)ndist);
    if (err < 0 || (err > 0 && ndist != (uint32_t)(s->distcode.count[0] + s->distcode.count[1])))
        return bad(s, "invalid distance code lengths");
    return codes(s, &s->lencode, &s->distcode);
}

/* Decodes one DEFLATE stream starting at s->in + s->pos, appending to s->out.
   On return s->pos is the first byte after the stream. */
static int inflate_stream(Inflate *s) {
    uint32_t last, type;
    s->bitbuf = 0;
    s->bitcnt = 0;
    s->base = s->out_len;
    do {
        if (bits(s, 1, &last) || bits(s, 2, &type)) return -1;
        int err = type == 0   ? stored(s)
                  : type == 1 ? fixed(s)
                  : type == 2 ? dynamic(s)
                              : bad(s, "invalid block type 3");
        if (err) return -1;
    } while (!last);
    align_to_byte(s);
    return 0;
}

/* ---- the three entry points */

static void start(Inflate *s, const uint8_t *in, size_t in_len, size_t max_out, size_t size_hint) {
    memset(s, 0, offsetof(Inflate, lencode)); /* the Huffman tables are filled before use */
    s->fixed_ready = 0;
    s->in = in;
    s->in_len = in_len;
    s->max_out = max_out;
    /* DEFLATE expands at most ~1032:1, so a larger hint is a lie; cap it */
    size_t limit = in_len < (SIZE_MAX - 4096) / 1032 ? in_len * 1032 + 4096 : SIZE_MAX;
    if (size_hint > limit) size_hint = limit;
    if (size_hint > max_out) size_hint = max_out;
    s->out = malloc(size_hint ? size_hint : 1);
    s->out_cap = s->out ? size_hint : 0;
}

static int finish(Inflate *s, int err, const char *kind, const char *what, uint8_t **out, size_t *out_len) {
    if (!err && !s->out) {
        s->why = "out of memory";
        s->hint = "close other tabs or programs, or use a smaller dataset";
        err = -1;
    }
    if (err) {
        free(s->out);
        *out = NULL;
        *out_len = 0;
        if (s->why == cap_why)
            return nl_fail("%s: %s: decompressed size exceeds the limit of %zu bytes. Hint: %s.",
                           what ? what : "input", kind, s->max_out, s->hint);
        return nl_fail("%s: %s: %s (near input byte %zu of %zu). Hint: %s.", what ? what : "input", kind,
                       s->why ? s->why : "corrupt data", s->pos, s->in_len,
                       s->hint ? s->hint : HINT_CORRUPT);
    }
    *out = s->out;
    *out_len = s->out_len;
    return 0;
}

int inflate_raw(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, size_t max_out,
                const char *what) {
    Inflate s;
    size_t hint = in_len < SIZE_MAX / 8 - 4096 ? in_len * 8 + 4096 : SIZE_MAX;
    start(&s, in, in_len, max_out, hint);
    int err = s.out ? inflate_stream(&s) : 0;
    return finish(&s, err, "corrupt DEFLATE data", what, out, out_len);
}

int zlib_decode(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, size_t max_out,
                const char *what) {
    Inflate s;
    size_t hint = in_len < SIZE_MAX / 8 - 4096 ? in_len * 8 + 4096 : SIZE_MAX;
    start(&s, in, in_len, max_out, hint);
    int err = 0;
    if (!s.out) {
        err = 0; /* reported by finish() */
    } else if (in_len < 2) {
        err = bad(&s, "data ends inside the zlib header");
    } else if ((in[0] & 15) != 8 || (in[0] >> 4) > 7) {
        err = bad(&s, "not zlib data (unknown compression method)");
    } else if ((in[0] * 256u + in[1]) % 31 != 0) {
        err = bad(&s, "not zlib data (header check failed)");
    } else if (in[1] & 0x20) {
        err = bad(&s, "zlib preset dictionaries are not supported");
    } else {
        s.pos = 2;
        err = inflate_stream(&s);
        if (!err && s.in_len - s.pos < 4) err = bad(&s, "data ends before the Adler-32 checksum");
        if (!err) {
            const uint8_t *t = in + s.pos;
            uint32_t want = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
            if (adler32(s.out, s.out_len) != want) err = bad(&s, "Adler-32 checksum mismatch");
            s.pos += 4; /* bytes after the checksum are ignored, as zlib does */
        }
    }
    return finish(&s, err, "corrupt zlib data", what, out, out_len);
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parses one member's header at in[*p]; leaves *p at the DEFLATE data. */
static int gzip_header(Inflate *s, size_t *p) {
    const uint8_t *in = s->in;
    size_t n = s->in_len, q = *p;
    if (n - q < 10) return bad(s, "data ends inside the gzip header");
    if (in[q] != 0x1f || in[q + 1] != 0x8b) return bad(s, "not gzip data (bad magic bytes)");
    if (in[q + 2] != 8) return bad(s, "unknown gzip compression method");
    int flg = in[q + 3];
    if (flg & 0xe0) return bad(s, "reserved gzip header flags are set");
    q += 10;
    if (flg & 4) { /* FEXTRA */
        if (n - q < 2) return bad(s, "data ends inside the gzip header");
        size_t xlen = (size_t)in[q] | (size_t)in[q + 1] << 8;
        q += 2;
        if (n - q < xlen) return bad(s, "data ends inside the gzip header");
        q += xlen;
    }
    for (int f = 8; f <= 16; f += 8) { /* FNAME, FCOMMENT: zero-terminated */
        if (!(flg & f)) continue;
        while (q < n && in[q]) q++;
        if (q == n) return bad(s, "data ends inside the gzip header");
        q++;
    }
    if (flg & 2) { /* FHCRC: low 16 bits of the CRC-32 of the header */
        if (n - q < 2) return bad(s, "data ends inside the gzip header");
        uint32_t want = (uint32_t)in[q] | (uint32_t)in[q + 1] << 8;
        if ((crc32_update(0, in + *p, q - *p) & 0xffff) != want) return bad(s, "gzip header CRC mismatch");
        q += 2;
    }
    *p = q;
    return 0;
}

int gzip_decode(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, size_t max_out,
                const char *what) {
    Inflate s;
    /* ISIZE (last 4 bytes) is the size of the last member mod 2^32: a hint only */
    size_t hint = in_len >= 18 ? le32(in + in_len - 4) : 0;
    start(&s, in, in_len, max_out, hint);
    int err = 0;
    size_t p = 0;
    while (s.out && !err) {
        err = gzip_header(&s, &p);
        if (err) break;
        s.pos = p;
        err = inflate_stream(&s);
        if (err) break;
        p = s.pos;
        if (in_len - p < 8) {
            err = bad(&s, "data ends before the gzip trailer (CRC-32 and size)");
            break;
        }
        size_t size = s.out_len - s.base;
        if (crc32_update(0, s.out + s.base, size) != le32(in + p)) {
            err = bad(&s, "CRC-32 mismatch: the decompressed data is wrong");
            break;
        }
        if ((uint32_t)size != le32(in + p + 4)) {
            err = bad(&s, "length mismatch in the gzip trailer");
            break;
        }
        p += 8;
        s.pos = p;
        /* another member follows, or zero padding (as gzip accepts), or garbage */
        size_t q = p;
        while (q < in_len && in[q] == 0) q++;
        if (q == in_len) break;
        if (q != p || in_len - p < 2 || in[p] != 0x1f || in[p + 1] != 0x8b) {
            err = bad(&s, "unexpected bytes after the end of the gzip data");
            break;
        }
    }
    return finish(&s, err, "corrupt gzip data", what, out, out_len);
}
