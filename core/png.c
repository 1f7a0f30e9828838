/* png.c: a small PNG decoder for 8-bit grayscale, gray+alpha, RGB and RGBA
   images without interlacing (what the ConvNetJS sprites use).

   A PNG is an 8-byte signature and a list of chunks (u32 length, 4-letter
   type, data, CRC-32 of type+data). IHDR comes first and gives the size and
   pixel format; the IDAT chunks, concatenated, are one zlib stream holding
   `height` rows, each a filter-type byte followed by the filtered row; IEND
   ends the file. Every chunk's CRC is checked, so any damaged byte is an
   error rather than a silently wrong pixel. Palette, 16-bit, sub-byte and
   interlaced images get an "unsupported" error naming the format. */
#include "err.h"
#include "readers.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Largest decoded image accepted: a CIFAR sprite is 3 MB, so 1 GiB is only
   there to refuse absurd IHDR sizes before allocating anything. */
#define PNG_MAX_BYTES ((size_t)1 << 30)

#define HINT_DAMAGED "the file is damaged or truncated; copy or download it again"
#define HINT_CONVERT "convert the image to 8-bit grayscale or RGB without interlacing (e.g. `convert in.png -depth 8 -interlace none PNG24:out.png`)"

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_type(const uint8_t *t, const char *name) { return memcmp(t, name, 4) == 0; }

static int paeth(int a, int b, int c) {
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
}

/* Undoes the filter of one row in place. prev is the unfiltered row above
   (NULL for the first row, which filters against zeros). */
static int unfilter(uint8_t *row, const uint8_t *prev, size_t n, size_t bpp, int type) {
    switch (type) {
    case 0:
        break;
    case 1: /* Sub */
        for (size_t i = bpp; i < n; i++) row[i] = (uint8_t)(row[i] + row[i - bpp]);
        break;
    case 2: /* Up */
        if (prev)
            for (size_t i = 0; i < n; i++) row[i] = (uint8_t)(row[i] + prev[i]);
        break;
    case 3: /* Average */
        for (size_t i = 0; i < n; i++) {
            int left = i >= bpp ? row[i - bpp] : 0, up = prev ? prev[i] : 0;
            row[i] = (uint8_t)(row[i] + ((left + up) >> 1));
        }
        break;
    case 4: /* Paeth */
        for (size_t i = 0; i < n; i++) {
            int left = i >= bpp ? row[i - bpp] : 0, up = prev ? prev[i] : 0;
            int ul = i >= bpp && prev ? prev[i - bpp] : 0;
            row[i] = (uint8_t)(row[i] + paeth(left, up, ul));
        }
        break;
    default:
        return -1;
    }
    return 0;
}

int png_decode(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *width, int *height,
               int *channels) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const char *w = what ? what : "PNG data";
    *pixels = NULL;
    if (len < 8 || memcmp(buf, sig, 8) != 0)
        return nl_fail("%s: not a PNG file (bad signature). Hint: check the path; the file should be a .png "
                       "image.",
                       w);

    /* pass 1: walk and check every chunk, read IHDR, total the IDAT sizes */
    const uint8_t *ihdr = NULL;
    size_t idat_total = 0, p = 8, end = 0;
    int nidat = 0;
    while (!end) {
        if (len - p < 12)
            return nl_fail("%s: truncated: the file ends at byte %zu before the IEND chunk. Hint: %s.", w, len,
                           HINT_DAMAGED);
        uint32_t n = be32(buf + p);
        const uint8_t *type = buf + p + 4, *data = buf + p + 8;
        for (int i = 0; i < 4; i++) {
            int ch = type[i] | 0x20; /* lower-case */
            if (ch < 'a' || ch > 'z')
                return nl_fail("%s: invalid chunk type at byte %zu. Hint: %s.", w, p + 4, HINT_DAMAGED);
        }
        if (n > 0x7fffffffu)
            return nl_fail("%s: chunk %.4s at byte %zu has an invalid length %u. Hint: %s.", w, (const char *)type,
                           p, n, HINT_DAMAGED);
        if (n > len - p - 12)
            return nl_fail("%s: truncated: chunk %.4s at byte %zu needs %u data bytes, the file has %zu. Hint: "
                           "%s.",
                           w, (const char *)type, p, n, len - p - 12, HINT_DAMAGED);
        if (crc32_update(0, type, (size_t)n + 4) != be32(data + n))
            return nl_fail("%s: CRC mismatch in chunk %.4s at byte %zu. Hint: %s.", w, (const char *)type, p,
                           HINT_DAMAGED);
        if (!ihdr && !is_type(type, "IHDR"))
            return nl_fail("%s: the first chunk is %.4s, not IHDR. Hint: %s.", w, (const char *)type,
                           HINT_DAMAGED);
        if (is_type(type, "IHDR")) {
            if (ihdr) return nl_fail("%s: more than one IHDR chunk. Hint: %s.", w, HINT_DAMAGED);
            if (n != 13) return nl_fail("%s: IHDR has %u bytes, not 13. Hint: %s.", w, n, HINT_DAMAGED);
            ihdr = data;
        } else if (is_type(type, "IDAT")) {
            idat_total += n; /* n < 2^31 and the sum is bounded by len: no overflow */
            nidat++;
        } else if (is_type(type, "IEND")) {
            end = 1;
        } else if (!(type[0] & 0x20) && !is_type(type, "PLTE")) {
            /* an unknown critical chunk changes how the image must be read */
            return nl_fail("%s: critical chunk %.4s is not supported. Hint: %s.", w, (const char *)type,
                           HINT_CONVERT);
        }
        p += (size_t)n + 12;
    }

    uint32_t wd = be32(ihdr), ht = be32(ihdr + 4);
    int depth = ihdr[8], ctype = ihdr[9], interlace = ihdr[12];
    if (wd == 0 || ht == 0 || wd > INT_MAX || ht > INT_MAX)
        return nl_fail("%s: invalid image size %ux%u in IHDR. Hint: %s.", w, wd, ht, HINT_DAMAGED);
    if (ihdr[10] != 0 || ihdr[11] != 0 || interlace > 1)
        return nl_fail("%s: invalid compression, filter or interlace method in IHDR. Hint: %s.", w,
                       HINT_DAMAGED);
    int valid = (ctype == 0 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
                (ctype == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
                ((ctype == 2 || ctype == 4 || ctype == 6) && (depth == 8 || depth == 16));
    if (!valid)
        return nl_fail("%s: invalid bit depth %d for colour type %d in IHDR. Hint: %s.", w, depth, ctype,
                       HINT_DAMAGED);
    if (ctype == 3)
        return nl_fail("%s: palette (indexed-colour) PNGs are not supported. Hint: %s.", w, HINT_CONVERT);
    if (depth != 8)
        return nl_fail("%s: %d-bit PNGs are not supported, only 8-bit. Hint: %s.", w, depth, HINT_CONVERT);
    if (interlace)
        return nl_fail("%s: interlaced (Adam7) PNGs are not supported. Hint: %s.", w, HINT_CONVERT);
    if (nidat == 0) return nl_fail("%s: no IDAT chunk (no image data). Hint: %s.", w, HINT_DAMAGED);

    size_t bpp = ctype == 0 ? 1 : ctype == 4 ? 2 : ctype == 2 ? 3 : 4; /* bytes per pixel */
    size_t ch = ctype == 0 || ctype == 4 ? 1 : 3;                       /* alpha is dropped */
    if (wd > (PNG_MAX_BYTES / 4 - 1) || (size_t)ht > PNG_MAX_BYTES / (wd * bpp + 1))
        return nl_fail("%s: image of %ux%u is too large (limit %zu bytes). Hint: use a smaller image.", w, wd,
                       ht, PNG_MAX_BYTES);
    size_t rowbytes = wd * bpp, raw_size = (rowbytes + 1) * ht;

    /* pass 2: concatenate the IDAT data */
    uint8_t *z = malloc(idat_total ? idat_total : 1);
    if (!z) return nl_fail("%s: out of memory. Hint: close other programs or use a smaller image.", w);
    size_t zn = 0;
    for (p = 8; p < len;) {
        uint32_t n = be32(buf + p);
        if (is_type(buf + p + 4, "IDAT")) {
            memcpy(z + zn, buf + p + 8, n);
            zn += n;
        }
        if (is_type(buf + p + 4, "IEND")) break;
        p += (size_t)n + 12;
    }
    uint8_t *raw;
    size_t got;
    /* one byte of slack so that "too much data" gets its own message below */
    int err = zlib_decode(z, zn, &raw, &got, raw_size + 1, w);
    free(z);
    if (err) return -1;
    if (got != raw_size) {
        free(raw);
        return nl_fail("%s: the image data holds %zu bytes but a %ux%u image needs %zu. Hint: %s.", w, got, wd,
                       ht, raw_size, HINT_DAMAGED);
    }

    /* unfilter every row in place, then pack the rows (dropping the filter
       bytes and any alpha) towards the front of the same buffer: the write
       position never passes the read position */
    for (size_t y = 0; y < ht; y++) {
        uint8_t *row = raw + y * (rowbytes + 1);
        const uint8_t *prev = y ? row - rowbytes : NULL;
        if (unfilter(row + 1, prev, rowbytes, bpp, row[0])) {
            int type = row[0];
            free(raw);
            return nl_fail("%s: invalid filter type %d on row %zu. Hint: %s.", w, type, y, HINT_DAMAGED);
        }
    }
    size_t o = 0;
    for (size_t y = 0; y < ht; y++) {
        const uint8_t *row = raw + y * (rowbytes + 1) + 1;
        if (bpp == ch) {
            memmove(raw + o, row, rowbytes);
            o += rowbytes;
        } else {
            for (size_t x = 0; x < wd; x++)
                for (size_t k = 0; k < ch; k++) raw[o++] = row[x * bpp + k];
        }
    }
    uint8_t *px = realloc(raw, o);
    *pixels = px ? px : raw;
    *width = (int)wd;
    *height = (int)ht;
    *channels = (int)ch;
    return 0;
}
