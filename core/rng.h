/* rng.h: the only source of randomness in noisylab.

   PCG32 (O'Neill 2014): 64-bit state, 32-bit output. A generator is fully
   determined by (seed, stream). Every consumer of randomness draws from its own
   stream, so changing e.g. the dropout rate never changes the data split or the
   initial weights of a run with the same seed. The output is the same on every
   platform (integer arithmetic only; floats are derived from the integers). */
#ifndef NL_RNG_H
#define NL_RNG_H

#include <stdint.h>

typedef struct { uint64_t state, inc; } Rng;

/* The independent streams of one run. The numbers are part of the
   reproducibility contract: never renumber them. */
enum {
    STREAM_SPLIT = 1,   /* train/val/test subset selection */
    STREAM_NOISE = 2,   /* label noise */
    STREAM_INIT = 3,    /* weight initialisation */
    STREAM_SHUFFLE = 4, /* per-epoch batch order */
    STREAM_DROPOUT = 5, /* dropout masks */
    STREAM_AUGMENT = 6, /* random crop and flip */
    STREAM_DATA = 7,    /* procedurally generated datasets (fixed dataset seed) */
    STREAM_IMBALANCE = 8, /* class-imbalance subsampling */
    STREAM_EVAL = 9,    /* sampling for metrics (e.g. embedding subsets) */
    STREAM_LOSS = 10,   /* triplet sampling of the triplet loss */
    STREAM_TSNE = 11,   /* t-SNE initial embedding */
    STREAM_SUBGRAPH = 12 /* k-hop subgraph sampling (core/subgraph.h) */
};

void rng_init(Rng *r, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *r);
/* uniform integer in [0, n), unbiased (Lemire's method with rejection) */
uint32_t rng_below(Rng *r, uint32_t n);
/* uniform float in [0, 1) with 24 random bits */
float rng_uniform(Rng *r);
/* standard normal (Box-Muller, one value per call; the pair's twin is dropped
   so that the stream position depends only on the call count) */
float rng_normal(Rng *r);
/* Fisher-Yates shuffle of idx[0..n) */
void rng_shuffle(Rng *r, int *idx, int n);

#endif
