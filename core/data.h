/* data.h: images in memory and the per-batch pipeline.

   A Dataset keeps its images as uint8 NCHW (4x smaller than floats, which is
   what lets CIFAR-10 fit in a browser tab) and converts only the current batch
   to floats: (pixel/255 - mean_c) / std_c through a 256-entry table per
   channel, with optional augmentation (random crop from the image zero-padded
   by 4 px, horizontal flip), drawn from the AUGMENT stream.

   The mean and std are per channel over the whole training set (before any
   subsetting), so a subset trains with the same normalisation as the full set. */
#ifndef NL_DATA_H
#define NL_DATA_H

#include <stdint.h>

#include "readers.h"
#include "rng.h"

typedef struct {
    int n, c, h, w, classes;
    uint8_t *pixels; /* n*c*h*w */
    int *labels;     /* n: the labels training sees */
    char name[32];
} Dataset;

typedef struct {
    float mean[4], std[4];
    float lut[4][256]; /* normalised value of each byte, per channel */
} Norm;

/* takes ownership of the shard's buffers */
int dataset_from_shard(Dataset *d, Shard *s, const char *name);
void dataset_free(Dataset *d);
/* per-channel mean and std of all pixels (double accumulation) */
void norm_fit(Norm *nm, const Dataset *d);
/* x (B, c, h, w) <- normalised images idx[0..B); crop/flip draw from rng */
void fill_batch(float *x, int *y, const Dataset *d, const Norm *nm, const int *idx, int B,
                int crop, int flip, Rng *rng);

/* The embedded default: 10 classes of procedurally drawn shapes, 3x32x32,
   generated from the DATA stream of a fixed dataset seed, so every run (of any
   seed) sees the same dataset, as with a real one. Class names: see synth_class_names. */
int synth_generate(Dataset *train, Dataset *test, int ntrain, int ntest);
extern const char *const synth_class_names[10];
/* the class names of a dataset the core knows (synth, mnist, fashion-mnist,
   cifar10), or NULL when it does not know them or K differs */
const char *const *dataset_class_names(const char *dataset, int K);

#endif
