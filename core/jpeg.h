/* jpeg.h: a compact baseline JPEG decoder (the images of multimodal knowledge graphs).

   Decodes baseline and extended sequential Huffman JPEG (SOF0/SOF1), 8-bit, with 1
   (grayscale) or 3 (YCbCr, or RGB if an Adobe marker says so) components, any sampling
   factors from 1 to 4 (4:4:4, 4:2:2, 4:2:0, ...), restart intervals, and interleaved
   scans (plus the single non-interleaved scan of a grayscale file). Anything else gets a
   clear "unsupported" error: progressive (SOF2), lossless, arithmetic coding, CMYK,
   12-bit, multi-scan sequential files.

   Same contract as the readers of readers.h: works on a byte buffer, never reads out of
   bounds, and on bad input (truncated, corrupt, too large) returns -1 with a message that
   names `what` and ends with a hint. Output is interleaved 8-bit, channels = 1 (gray) or 3
   (RGB), malloc'd (the caller frees). Chroma is upsampled by pixel replication, and the
   IDCT is the textbook separable float transform (about +-1 of libjpeg's integer one).
   Images are capped at JPEG_MAX_PIXELS so a header cannot ask for unbounded memory. */
#ifndef NL_JPEG_H
#define NL_JPEG_H

#include <stddef.h>
#include <stdint.h>

#define JPEG_MAX_PIXELS (1 << 24) /* 4096 x 4096 */

int jpeg_decode(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *width, int *height,
                int *channels);

#endif
