#include "data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int dataset_from_shard(Dataset *d, Shard *s, const char *name) {
    memset(d, 0, sizeof *d);
    d->labels = malloc(sizeof(int) * (size_t)(s->n > 0 ? s->n : 1));
    if (!d->labels) return nl_fail("out of memory reading %s. Hint: use a smaller dataset.", name);
    d->n = s->n, d->c = s->c, d->h = s->h, d->w = s->w, d->classes = s->classes;
    for (int i = 0; i < s->n; i++) d->labels[i] = s->labels[i];
    d->pixels = s->pixels;
    s->pixels = NULL;
    free(s->labels);
    s->labels = NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    return 0;
}

void dataset_free(Dataset *d) {
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

void norm_fit(Norm *nm, const Dataset *d) {
    long plane = (long)d->h * d->w;
    for (int c = 0; c < d->c && c < 4; c++) {
        /* a histogram per channel makes the sums exact and cheap */
        double hist[256] = {0};
        for (long i = 0; i < d->n; i++) {
            const uint8_t *p = d->pixels + ((long)i * d->c + c) * plane;
            for (long j = 0; j < plane; j++) hist[p[j]] += 1;
        }
        double cnt = 0, s = 0, ss = 0;
        for (int v = 0; v < 256; v++) {
            double x = v / 255.0;
            cnt += hist[v], s += hist[v] * x, ss += hist[v] * x * x;
        }
        double mean = cnt > 0 ? s / cnt : 0, var = cnt > 0 ? ss / cnt - mean * mean : 1;
        double std = var > 1e-12 ? sqrt(var) : 1.0;
        nm->mean[c] = (float)mean, nm->std[c] = (float)std;
        for (int v = 0; v < 256; v++) nm->lut[c][v] = (float)((v / 255.0 - mean) / std);
    }
}

void fill_batch(float *x, int *y, const Dataset *d, const Norm *nm, const int *idx, int B,
                int crop, int flip, Rng *rng) {
    int C = d->c, H = d->h, W = d->w;
    long plane = (long)H * W;
    for (int b = 0; b < B; b++) {
        const uint8_t *src = d->pixels + (long)idx[b] * C * plane;
        float *dst = x + (long)b * C * plane;
        y[b] = d->labels[idx[b]];
        /* draw order per image is fixed: crop offsets, then flip */
        int dy = 0, dx = 0, fl = 0;
        if (crop) {
            dy = (int)rng_below(rng, 9) - 4;
            dx = (int)rng_below(rng, 9) - 4;
        }
        if (flip) fl = (int)rng_below(rng, 2);
        if (!dy && !dx && !fl) {
            for (int c = 0; c < C; c++) {
                const float *lut = nm->lut[c];
                for (long j = 0; j < plane; j++) dst[c * plane + j] = lut[src[c * plane + j]];
            }
            continue;
        }
        for (int c = 0; c < C; c++) {
            const float *lut = nm->lut[c];
            float pad = lut[0]; /* padding is black before normalisation, as torchvision pads */
            for (int i = 0; i < H; i++) {
                int si = i + dy;
                float *row = dst + c * plane + (long)i * W;
                if (si < 0 || si >= H) {
                    for (int j = 0; j < W; j++) row[j] = pad;
                    continue;
                }
                const uint8_t *srow = src + c * plane + (long)si * W;
                for (int j = 0; j < W; j++) {
                    int sj = (fl ? W - 1 - j : j) + dx;
                    row[j] = (sj < 0 || sj >= W) ? pad : lut[srow[sj]];
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------- */
/* the synthetic shapes dataset                                               */

const char *const synth_class_names[10] = {"disc", "square", "triangle", "cross", "ring",
                                           "h-stripes", "v-stripes", "diagonal", "checker", "dots"};

#define SYNTH_SEED 0x6e6f6973796c6162ULL /* "noisylab": the dataset's identity, not the run's seed */

/* Is pixel (x, y) ink for class k, for a shape centred at (cx, cy) with radius r? */
static int synth_ink(int k, float x, float y, float cx, float cy, float r, float phase) {
    float u = x - cx, v = y - cy;
    float au = fabsf(u), av = fabsf(v);
    switch (k) {
    case 0: return u * u + v * v <= r * r;
    case 1: return au <= r * 0.85f && av <= r * 0.85f;
    case 2: return v <= r * 0.8f && v >= -r + 2.0f * au;
    case 3: return (au <= r * 0.3f && av <= r) || (av <= r * 0.3f && au <= r);
    case 4: { float d = sqrtf(u * u + v * v); return d <= r && d >= r * 0.55f; }
    case 5: return au <= r && av <= r && ((int)floorf((v + r) / (r * 0.4f) + phase)) % 2 == 0;
    case 6: return au <= r && av <= r && ((int)floorf((u + r) / (r * 0.4f) + phase)) % 2 == 0;
    case 7: return au <= r && av <= r && fabsf(u - v) <= r * 0.35f;
    case 8: return au <= r && av <= r &&
                   (((int)floorf((u + r) / (r * 0.5f)) + (int)floorf((v + r) / (r * 0.5f))) % 2 == 0);
    default: {
        float gx = fmodf(u + r + 64.0f, r * 0.66f) - r * 0.33f, gy = fmodf(v + r + 64.0f, r * 0.66f) - r * 0.33f;
        return au <= r && av <= r && gx * gx + gy * gy <= r * r * 0.03f;
    }
    }
}

static int synth_fill(Dataset *d, int n, Rng *rng, const char *name) {
    memset(d, 0, sizeof *d);
    d->n = n, d->c = 3, d->h = 32, d->w = 32, d->classes = 10;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->pixels = malloc((size_t)n * 3 * 32 * 32);
    d->labels = malloc(sizeof(int) * (size_t)n);
    if (!d->pixels || !d->labels) {
        dataset_free(d);
        return nl_fail("out of memory generating the synth dataset. Hint: lower train/test.");
    }
    for (int i = 0; i < n; i++) {
        int k = i % 10; /* balanced classes */
        d->labels[i] = k;
        float r = 6.0f + 7.0f * rng_uniform(rng);
        float cx = r + (32.0f - 2.0f * r) * rng_uniform(rng);
        float cy = r + (32.0f - 2.0f * r) * rng_uniform(rng);
        float phase = rng_uniform(rng);
        float fg[3], bg[3];
        for (int c = 0; c < 3; c++) fg[c] = rng_uniform(rng), bg[c] = rng_uniform(rng);
        /* keep enough contrast that the shape is visible */
        float diff = fabsf(fg[0] - bg[0]) + fabsf(fg[1] - bg[1]) + fabsf(fg[2] - bg[2]);
        if (diff < 0.6f)
            for (int c = 0; c < 3; c++) fg[c] = 1.0f - bg[c];
        uint8_t *img = d->pixels + (long)i * 3072;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                int ink = synth_ink(k, x + 0.5f, y + 0.5f, cx, cy, r, phase);
                for (int c = 0; c < 3; c++) {
                    float v = (ink ? fg[c] : bg[c]) + 0.12f * (rng_uniform(rng) - 0.5f);
                    v = v < 0 ? 0 : v > 1 ? 1 : v;
                    img[c * 1024 + y * 32 + x] = (uint8_t)(v * 255.0f + 0.5f);
                }
            }
    }
    return 0;
}

int synth_generate(Dataset *train, Dataset *test, int ntrain, int ntest) {
    Rng rng;
    rng_init(&rng, SYNTH_SEED, STREAM_DATA);
    if (synth_fill(train, ntrain, &rng, "synth") < 0) return -1;
    if (synth_fill(test, ntest, &rng, "synth") < 0) {
        dataset_free(train);
        return -1;
    }
    return 0;
}

const char *const *dataset_class_names(const char *dataset, int K) {
    static const char *const digits[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    static const char *const fashion[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    static const char *const cifar[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                          "dog", "frog", "horse", "ship", "truck"};
    if (K != 10) return NULL;
    if (!strcmp(dataset, "synth")) return synth_class_names;
    if (!strcmp(dataset, "mnist")) return digits;
    if (!strcmp(dataset, "fashion-mnist")) return fashion;
    if (!strcmp(dataset, "cifar10")) return cifar;
    return NULL;
}
