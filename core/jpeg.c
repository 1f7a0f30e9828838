/* jpeg.c: baseline JPEG decoding. See jpeg.h for what is supported and the contract.
   Structure: markers (tables, frame, scan) -> Huffman-decoded 8x8 blocks -> dequantise,
   IDCT into one plane per component -> upsample + YCbCr to RGB. */
#include "jpeg.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HINT_BAD "the image is damaged or truncated; re-export it as a baseline JPEG"
#define HINT_UNSUP "re-encode the image as a baseline (non-progressive) 8-bit JPEG, e.g. with ImageMagick's convert"

static const uint8_t zigzag[64] = {0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
                                   12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
                                   35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
                                   58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

typedef struct {
    int defined;
    uint8_t vals[256];
    int maxcode[18]; /* largest code of each length, -1 if none */
    int valptr[17];  /* index into vals of the first code of each length */
    int mincode[17];
    uint16_t fast[1 << 9]; /* first 9 bits -> (length << 8 | value) for short codes, 0 = slow path */
} Huff;

typedef struct {
    int id, h, v, tq, td, ta;
    int bw, bh; /* plane size in blocks */
    uint8_t *plane;
    int pred;
} Comp;

typedef struct {
    const uint8_t *b;
    size_t len, pos;
    const char *what;
    uint16_t q[4][64];
    int qdef[4];
    Huff dc[4], ac[4];
    Comp c[3];
    int nc, w, h, hmax, vmax, ri, adobe, transform, frame;
    /* bit reader */
    uint32_t acc;
    int nbits, hit_marker, hit_end;
    int pad; /* zero bits appended after a marker or the end of the data */
} Dec;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static int fail(Dec *d, const char *msg, const char *hint) {
    return nl_fail("%s: %s (at byte %zu). Hint: %s.", d->what, msg, d->pos, hint);
}

/* ---- tables */

static int build_huff(Huff *h, const uint8_t *counts, const uint8_t *vals, int n) {
    int code = 0, k = 0;
    for (int l = 1; l <= 16; l++) {
        h->valptr[l] = k;
        h->mincode[l] = code;
        code += counts[l - 1];
        k += counts[l - 1];
        if (code > (1 << l)) return -1; /* more codes than the length allows */
        h->maxcode[l] = counts[l - 1] ? code - 1 : -1;
        code <<= 1;
    }
    h->maxcode[17] = 0x7fffffff;
    memcpy(h->vals, vals, (size_t)n);
    /* most codes are short: a 9-bit lookahead table decodes them in one step */
    memset(h->fast, 0, sizeof h->fast);
    for (int l = 1; l <= 9; l++)
        for (int c = h->mincode[l]; c <= h->maxcode[l]; c++) {
            int k = h->valptr[l] + c - h->mincode[l], lo = c << (9 - l), hi = (c + 1) << (9 - l);
            for (int j = lo; j < hi && j < (1 << 9); j++) h->fast[j] = (uint16_t)(l << 8 | vals[k]);
        }
    h->defined = 1;
    return 0;
}

static int read_dht(Dec *d, const uint8_t *p, size_t n) {
    while (n > 0) {
        if (n < 17) return fail(d, "a truncated Huffman table", HINT_BAD);
        int tc = p[0] >> 4, th = p[0] & 15, total = 0;
        for (int i = 0; i < 16; i++) total += p[1 + i];
        if (tc > 1 || th > 3) return fail(d, "a Huffman table with an invalid class or id", HINT_BAD);
        if (total > 256 || (size_t)(17 + total) > n) return fail(d, "a Huffman table with too many codes", HINT_BAD);
        if (build_huff(tc ? &d->ac[th] : &d->dc[th], p + 1, p + 17, total))
            return fail(d, "an invalid Huffman table", HINT_BAD);
        p += 17 + total;
        n -= (size_t)(17 + total);
    }
    return 0;
}

static int read_dqt(Dec *d, const uint8_t *p, size_t n) {
    while (n > 0) {
        int pq = p[0] >> 4, tq = p[0] & 15;
        size_t need = 1 + (pq ? 128 : 64);
        if (pq > 1 || tq > 3) return fail(d, "a quantisation table with an invalid precision or id", HINT_BAD);
        if (n < need) return fail(d, "a truncated quantisation table", HINT_BAD);
        for (int i = 0; i < 64; i++) d->q[tq][zigzag[i]] = pq ? be16(p + 1 + 2 * i) : p[1 + i];
        d->qdef[tq] = 1;
        p += need;
        n -= need;
    }
    return 0;
}

static int read_sof(Dec *d, const uint8_t *p, size_t n) {
    if (d->frame) return fail(d, "a second frame header", HINT_BAD);
    if (n < 6) return fail(d, "a truncated frame header", HINT_BAD);
    if (p[0] != 8) return fail(d, "a sample precision other than 8 bits is not supported", HINT_UNSUP);
    d->h = be16(p + 1), d->w = be16(p + 3), d->nc = p[5];
    if (d->w == 0 || d->h == 0)
        return fail(d, "a zero width or height (a DNL marker is not supported)", HINT_BAD);
    if ((long long)d->w * d->h > JPEG_MAX_PIXELS) return fail(d, "the image is larger than 4096x4096 pixels", HINT_UNSUP);
    if (d->nc != 1 && d->nc != 3) return fail(d, "only 1 (gray) or 3 (colour) components are supported", HINT_UNSUP);
    if (n < 6 + 3 * (size_t)d->nc) return fail(d, "a truncated frame header", HINT_BAD);
    d->hmax = d->vmax = 1;
    for (int i = 0; i < d->nc; i++) {
        Comp *c = &d->c[i];
        c->id = p[6 + 3 * i];
        c->h = p[7 + 3 * i] >> 4, c->v = p[7 + 3 * i] & 15, c->tq = p[8 + 3 * i];
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4) return fail(d, "invalid sampling factors", HINT_BAD);
        if (c->tq > 3) return fail(d, "an invalid quantisation table id", HINT_BAD);
        if (d->nc == 1) c->h = c->v = 1; /* a single component is never interleaved */
        if (c->h > d->hmax) d->hmax = c->h;
        if (c->v > d->vmax) d->vmax = c->v;
    }
    int mx = (d->w + 8 * d->hmax - 1) / (8 * d->hmax), my = (d->h + 8 * d->vmax - 1) / (8 * d->vmax);
    for (int i = 0; i < d->nc; i++) {
        Comp *c = &d->c[i];
        if (d->hmax % c->h || d->vmax % c->v) return fail(d, "sampling factors that do not divide", HINT_UNSUP);
        c->bw = mx * c->h, c->bh = my * c->v;
        c->plane = malloc((size_t)c->bw * c->bh * 64);
        if (!c->plane) return fail(d, "out of memory", "the image is too large for this machine");
    }
    d->frame = 1;
    return 0;
}

/* ---- entropy-coded data */

static void fill(Dec *d) {
    while (d->nbits <= 24) {
        int byte = 0;
        if (d->hit_marker) {
            byte = 0;
        } else if (d->pos >= d->len) {
            d->hit_end = 1;
        } else {
            byte = d->b[d->pos];
            if (byte == 0xFF) {
                int nx = d->pos + 1 < d->len ? d->b[d->pos + 1] : -1;
                if (nx == 0) {
                    d->pos += 2;
                } else if (nx == 0xFF) { /* fill byte before a marker */
                    d->pos++;
                    continue;
                } else {
                    d->hit_marker = 1, byte = 0;
                    if (nx < 0) d->hit_end = 1;
                }
            } else {
                d->pos++;
            }
        }
        if (d->hit_marker || d->hit_end) d->pad += 8;
        d->acc |= (uint32_t)byte << (24 - d->nbits);
        d->nbits += 8;
    }
}

static int getbits(Dec *d, int n) {
    if (n == 0) return 0;
    fill(d);
    int v = (int)(d->acc >> (32 - n));
    d->acc <<= n;
    d->nbits -= n;
    return v;
}

static int decode_huff(Dec *d, const Huff *h) {
    fill(d);
    int f = h->fast[d->acc >> 23];
    if (f) {
        d->acc <<= f >> 8;
        d->nbits -= f >> 8;
        return f & 255;
    }
    uint32_t peek = d->acc >> 16;
    for (int l = 1; l <= 16; l++) {
        int code = (int)(peek >> (16 - l));
        if (h->maxcode[l] >= 0 && code <= h->maxcode[l]) {
            d->acc <<= l;
            d->nbits -= l;
            int k = h->valptr[l] + code - h->mincode[l];
            return k >= 0 && k < 256 ? h->vals[k] : -1;
        }
    }
    return -1;
}

static int extend(int v, int n) { return n == 0 ? 0 : v < (1 << (n - 1)) ? v - (1 << n) + 1 : v; }

/* a dequantised coefficient: 16-bit tables times 16-bit values can overflow an int */
static int clampc(long long v) { return v > (1 << 20) ? 1 << 20 : v < -(1 << 20) ? -(1 << 20) : (int)v; }

static float idct_c[8][8]; /* idct_c[x][u] = C(u)/2 cos((2x+1)u pi/16) */

static void idct_init(void) {
    if (idct_c[0][0] != 0) return;
    for (int x = 0; x < 8; x++)
        for (int u = 0; u < 8; u++)
            idct_c[x][u] = (float)((u ? 1.0 : sqrt(0.5)) * 0.5 * cos((2 * x + 1) * u * 3.14159265358979323846 / 16));
}

static void idct_put(const int *coef, uint8_t *out, int stride, int last) {
    float tmp[64];
    if (last == 0) { /* only the DC term: a flat block (most blocks of smooth images) */
        int v = (int)(idct_c[0][0] * idct_c[0][0] * (float)coef[0] + 128.5f);
        uint8_t b = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        for (int y = 0; y < 8; y++) memset(out + y * stride, b, 8);
        return;
    }
    /* 1-D transforms split in even and odd frequencies: x[n] = E[n] + O[n] and
       x[7-n] = E[n] - O[n], since cos((2(7-n)+1)u pi/16) = (-1)^u cos((2n+1)u pi/16);
       32 multiplications instead of 64 */
    for (int u = 0; u < 8; u++) { /* columns: for each horizontal frequency u, over y */
        const int *c = coef + u;
        if (!(c[8] | c[16] | c[24] | c[32] | c[40] | c[48] | c[56])) { /* only the DC of the column */
            float v = idct_c[0][0] * (float)c[0];
            for (int y = 0; y < 8; y++) tmp[y * 8 + u] = v;
            continue;
        }
        for (int n = 0; n < 4; n++) {
            float e = idct_c[n][0] * (float)c[0] + idct_c[n][2] * (float)c[16] + idct_c[n][4] * (float)c[32] +
                      idct_c[n][6] * (float)c[48];
            float o = idct_c[n][1] * (float)c[8] + idct_c[n][3] * (float)c[24] + idct_c[n][5] * (float)c[40] +
                      idct_c[n][7] * (float)c[56];
            tmp[n * 8 + u] = e + o;
            tmp[(7 - n) * 8 + u] = e - o;
        }
    }
    for (int y = 0; y < 8; y++) { /* rows */
        const float *t = tmp + y * 8;
        uint8_t *row = out + y * stride;
        for (int n = 0; n < 4; n++) {
            float e = idct_c[n][0] * t[0] + idct_c[n][2] * t[2] + idct_c[n][4] * t[4] + idct_c[n][6] * t[6];
            float o = idct_c[n][1] * t[1] + idct_c[n][3] * t[3] + idct_c[n][5] * t[5] + idct_c[n][7] * t[7];
            int v0 = (int)(e + o + 128.5f), v1 = (int)(e - o + 128.5f); /* round half up; below 0 clamps */
            row[n] = (uint8_t)(v0 < 0 ? 0 : v0 > 255 ? 255 : v0);
            row[7 - n] = (uint8_t)(v1 < 0 ? 0 : v1 > 255 ? 255 : v1);
        }
    }
}

static int decode_block(Dec *d, Comp *c, int bx, int by) {
    int coef[64] = {0};
    const uint16_t *q = d->q[c->tq];
    int t = decode_huff(d, &d->dc[c->td]);
    if (t < 0 || t > 11) return fail(d, "an invalid DC code in the image data", HINT_BAD);
    int diff = extend(getbits(d, t), t);
    c->pred += diff;
    if (c->pred > 32767 || c->pred < -32768) return fail(d, "a DC value out of range", HINT_BAD);
    coef[0] = clampc((long long)c->pred * q[0]);
    int last = 0; /* zigzag index of the last nonzero AC term */
    for (int k = 1; k < 64;) {
        int rs = decode_huff(d, &d->ac[c->ta]);
        if (rs < 0) return fail(d, "an invalid AC code in the image data", HINT_BAD);
        int r = rs >> 4, s = rs & 15;
        if (s == 0) {
            if (r != 15) break; /* end of block */
            k += 16;
            continue;
        }
        k += r;
        if (k > 63) return fail(d, "a run of AC coefficients past the end of a block", HINT_BAD);
        coef[zigzag[k]] = clampc((long long)extend(getbits(d, s), s) * q[zigzag[k]]);
        last = k++;
    }
    idct_put(coef, c->plane + (size_t)by * 8 * c->bw * 8 + (size_t)bx * 8, c->bw * 8, last);
    return 0;
}

/* finds the restart marker after an interval; lenient: any RSTn is accepted */
static int restart(Dec *d) {
    d->acc = 0, d->nbits = 0, d->hit_marker = 0, d->pad = 0;
    while (d->pos + 1 < d->len && !(d->b[d->pos] == 0xFF && d->b[d->pos + 1] >= 0xD0 && d->b[d->pos + 1] <= 0xD7))
        d->pos++;
    if (d->pos + 1 >= d->len) return fail(d, "truncated image data: a restart marker is missing", HINT_BAD);
    d->pos += 2;
    for (int i = 0; i < d->nc; i++) d->c[i].pred = 0;
    return 0;
}

static int read_scan(Dec *d, const uint8_t *p, size_t n) {
    if (!d->frame) return fail(d, "image data before the frame header", HINT_BAD);
    if (n < 1 || n < 1 + 2 * (size_t)p[0] + 3) return fail(d, "a truncated scan header", HINT_BAD);
    int ns = p[0];
    if (ns != d->nc)
        return fail(d, "a scan that does not hold every component (multi-scan sequential JPEG is not supported)",
                    HINT_UNSUP);
    Comp *order[3];
    for (int i = 0; i < ns; i++) {
        int id = p[1 + 2 * i], k;
        for (k = 0; k < d->nc && d->c[k].id != id; k++) {}
        if (k == d->nc) return fail(d, "a scan names an unknown component", HINT_BAD);
        order[i] = &d->c[k];
        order[i]->td = p[2 + 2 * i] >> 4, order[i]->ta = p[2 + 2 * i] & 15;
        if (order[i]->td > 3 || order[i]->ta > 3 || !d->dc[order[i]->td].defined || !d->ac[order[i]->ta].defined)
            return fail(d, "a scan uses a Huffman table that is not defined", HINT_BAD);
        if (!d->qdef[order[i]->tq]) return fail(d, "a component uses a quantisation table that is not defined", HINT_BAD);
        order[i]->pred = 0;
    }
    const uint8_t *sp = p + 1 + 2 * ns;
    if (sp[0] != 0 || sp[1] != 63 || sp[2] != 0) return fail(d, "a scan with spectral selection (not baseline)", HINT_UNSUP);
    idct_init();
    int mx = d->c[0].bw / d->c[0].h, my = d->c[0].bh / d->c[0].v, todo = d->ri;
    for (int y = 0; y < my; y++)
        for (int x = 0; x < mx; x++) {
            if (d->ri && todo-- == 0) {
                if (restart(d)) return -1;
                todo = d->ri - 1;
            }
            for (int i = 0; i < ns; i++) {
                Comp *c = order[i];
                for (int v = 0; v < c->v; v++)
                    for (int h = 0; h < c->h; h++)
                        if (decode_block(d, c, x * c->h + h, y * c->v + v)) return -1;
            }
            /* a block that used bits past the data: truncated or corrupt (libjpeg would
               warn and paint the rest gray; here the image is refused, and a header
               claiming a huge image over no data fails at its first block) */
            if (d->hit_end || d->nbits < d->pad) return fail(d, "truncated image data", HINT_BAD);
        }
    /* skip to the next marker */
    d->acc = 0, d->nbits = 0, d->hit_marker = 0;
    while (d->pos + 1 < d->len && !(d->b[d->pos] == 0xFF && d->b[d->pos + 1] != 0 &&
                                    !(d->b[d->pos + 1] >= 0xD0 && d->b[d->pos + 1] <= 0xD7)))
        d->pos++;
    return 0;
}

/* xmap: 3 * w ints of scratch (the plane column of each output column, per component) */
static void to_pixels(Dec *d, uint8_t *out, int *xmap) {
    for (int i = 0; i < d->nc; i++)
        for (int x = 0; x < d->w; x++) xmap[i * d->w + x] = x * d->c[i].h / d->hmax;
    for (int y = 0; y < d->h; y++) {
        const uint8_t *row[3];
        for (int i = 0; i < d->nc; i++) row[i] = d->c[i].plane + (size_t)(y * d->c[i].v / d->vmax) * d->c[i].bw * 8;
        for (int x = 0; x < d->w; x++) {
            int s[3];
            for (int i = 0; i < d->nc; i++) s[i] = row[i][xmap[i * d->w + x]];
            uint8_t *o = out + ((size_t)y * d->w + x) * d->nc;
            if (d->nc == 1) {
                o[0] = (uint8_t)s[0];
            } else if (d->adobe && d->transform == 0) {
                o[0] = (uint8_t)s[0], o[1] = (uint8_t)s[1], o[2] = (uint8_t)s[2];
            } else { /* JFIF YCbCr -> RGB in 16.16 fixed point (libjpeg's constants); the
                        1 << 24 bias keeps the shifted value non-negative */
                int cb = s[1] - 128, cr = s[2] - 128;
                int rgb[3] = {s[0] + ((91881 * cr + (1 << 24) + 32768) >> 16) - 256,
                              s[0] + ((-22554 * cb - 46802 * cr + (1 << 24) + 32768) >> 16) - 256,
                              s[0] + ((116130 * cb + (1 << 24) + 32768) >> 16) - 256};
                for (int k = 0; k < 3; k++) o[k] = (uint8_t)(rgb[k] < 0 ? 0 : rgb[k] > 255 ? 255 : rgb[k]);
            }
        }
    }
}

int jpeg_decode(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *width, int *height,
                int *channels) {
    Dec *d = calloc(1, sizeof *d);
    *pixels = NULL;
    if (!d) return nl_fail("%s: out of memory. Hint: close other tabs or programs.", what);
    d->b = buf, d->len = len, d->what = what;
    int rc = -1, scanned = 0;
    if (len < 4 || buf[0] != 0xFF || buf[1] != 0xD8) {
        nl_fail("%s: not a JPEG file (no start-of-image marker). Hint: check that the literal is a base64 JPEG.", what);
        goto done;
    }
    d->pos = 2;
    for (;;) {
        while (d->pos < len && buf[d->pos] != 0xFF) d->pos++; /* junk between segments */
        while (d->pos + 1 < len && buf[d->pos + 1] == 0xFF) d->pos++;
        if (d->pos + 1 >= len) {
            fail(d, scanned ? "truncated: the end-of-image marker is missing" : "truncated: the file ends before the "
                                                                                "image data",
                 HINT_BAD);
            goto done;
        }
        int m = buf[d->pos + 1];
        d->pos += 2;
        if (m == 0xD9) {
            if (!scanned) {
                fail(d, "the end-of-image marker comes before any image data", HINT_BAD);
                goto done;
            }
            break;
        }
        if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) continue; /* stand-alone markers */
        if (d->pos + 2 > len) {
            fail(d, "truncated: a segment length is missing", HINT_BAD);
            goto done;
        }
        size_t L = be16(buf + d->pos);
        if (L < 2 || d->pos + L > len) {
            fail(d, "truncated: a segment runs past the end of the file", HINT_BAD);
            goto done;
        }
        const uint8_t *p = buf + d->pos + 2;
        size_t n = L - 2;
        d->pos += L;
        int r = 0;
        if (m == 0xC4) r = read_dht(d, p, n);
        else if (m == 0xDB) r = read_dqt(d, p, n);
        else if (m == 0xC0 || m == 0xC1) r = read_sof(d, p, n);
        else if (m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE) r = fail(d, "progressive JPEG is not supported", HINT_UNSUP);
        else if ((m >= 0xC3 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC)
            r = fail(d, "lossless or arithmetic-coded JPEG is not supported", HINT_UNSUP);
        else if (m == 0xDD) {
            if (n < 2) r = fail(d, "a truncated restart-interval segment", HINT_BAD);
            else d->ri = be16(p);
        } else if (m == 0xEE && n >= 12 && !memcmp(p, "Adobe", 5)) {
            d->adobe = 1, d->transform = p[11];
        } else if (m == 0xDA) {
            if (scanned) r = fail(d, "a second scan (multi-scan JPEG is not supported)", HINT_UNSUP);
            else {
                r = read_scan(d, p, n);
                scanned = 1;
            }
        }
        if (r) goto done;
    }
    size_t total = (size_t)d->w * d->h * d->nc;
    *pixels = malloc(total);
    int *xmap = malloc(3 * (size_t)d->w * sizeof *xmap);
    if (!*pixels || !xmap) {
        free(*pixels);
        free(xmap);
        *pixels = NULL;
        nl_fail("%s: out of memory. Hint: close other tabs or programs.", what);
        goto done;
    }
    to_pixels(d, *pixels, xmap);
    free(xmap);
    *width = d->w, *height = d->h, *channels = d->nc;
    rc = 0;
done:
    for (int i = 0; i < 3; i++) free(d->c[i].plane);
    free(d);
    return rc;
}
