/* readers.h: decoding raw dataset files from memory, and the lab's shard format.

   Every reader works on a byte buffer (the caller reads the file: Node, the
   browser or stdio), never trusts a length or offset it has not checked, and
   on bad input returns an error (NULL / negative) with a message in the error
   slot (err.h) that names `what` (usually the file name), what is wrong, and a
   hint. No reader may crash, hang or read out of bounds on any input: they are
   fuzzed (tests/fuzz/).

   Memory: buffers returned through out-pointers are malloc'd; the caller frees. */
#ifndef NL_READERS_H
#define NL_READERS_H

#include <stddef.h>
#include <stdint.h>

/* ---- DEFLATE (RFC 1951), zlib (RFC 1950) and gzip (RFC 1952) decoding.
   max_out caps the output size (guards against decompression bombs). */
int inflate_raw(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
                size_t max_out, const char *what);
int zlib_decode(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, size_t max_out,
                const char *what);
/* gzip; checks the CRC-32 and length trailer. Multi-member files are concatenated. */
int gzip_decode(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, size_t max_out,
                const char *what);
uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n);

/* ---- IDX (MNIST / Fashion-MNIST). Accepts gzip'd or raw IDX (detected by magic).
   Images: magic 2051, uint8, dims (n, rows, cols). Labels: magic 2049, dims (n). */
int idx_read_images(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *n,
                    int *rows, int *cols);
int idx_read_labels(const uint8_t *buf, size_t len, const char *what, uint8_t **labels, int *n);

/* ---- PNG: 8-bit grayscale, gray+alpha, RGB or RGBA, non-interlaced (what the
   ConvNetJS sprites use); anything else gets a clear "unsupported" error.
   Output is interleaved, channels = 1 (gray) or 3 (RGB); alpha is dropped. */
int png_decode(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *width,
               int *height, int *channels);

/* ---- Shards: the lab's compact prepared image format.
   Layout (little-endian):
     0  char[8]  magic "NLSHARD1"
     8  u32      version (1)
     12 u32      n (images)
     16 u32      c, 20 u32 h, 24 u32 w
     28 u32      classes (labels are < classes, classes <= 256)
     32 u32      flags (0)
     36 u32      reserved (0)
     40 u8[n*c*h*w]  pixels, NCHW, 0..255
        u8[n]        labels
        u32          CRC-32 of every preceding byte */
typedef struct {
    int n, c, h, w, classes;
    uint8_t *pixels; /* n*c*h*w */
    uint8_t *labels; /* n */
} Shard;

/* parses and validates; on success the Shard owns malloc'd copies */
int shard_read(const uint8_t *buf, size_t len, const char *what, Shard *out);
/* serialises into a malloc'd buffer */
int shard_write(const Shard *s, uint8_t **buf, size_t *len);
void shard_free(Shard *s);

#endif
