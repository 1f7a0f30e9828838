/* model.h: networks as a list of layers over one memory arena.

   A Model is built by name from a Config (model_build) for an input shape
   (C, H, W) and a class count. It is a flat list of layers; each layer reads
   one or two activation tensors and writes one. Residual blocks are just an
   ADD layer reading two earlier tensors, and ReLU runs in place on its input
   tensor (relu(x) > 0 exactly when x > 0, so its backward can use the output).

   Memory (as llm.c): one arena holds, back to back,
       params | grads | opt_m | opt_v | buffers
   each `nparams` floats long except buffers (batch-norm running statistics,
   `nbuffers` floats). A checkpoint is this arena plus the step counter: the
   Worker can save or restore it with one copy. Activations, their gradients
   and scratch (im2col columns, max-pool argmax) live in a second allocation
   sized for the largest batch.

   Use: model_build -> model_init -> per step { model_zero_grad; model_forward;
   (loss backward into model_dlogits) ; model_backward; optim_step } . */
#ifndef NL_MODEL_H
#define NL_MODEL_H

#include <stddef.h>

#include "config.h"
#include "layers.h"
#include "rng.h"

typedef enum {
    L_CONV, L_DENSE, L_BN, L_RELU, L_LEAKY, L_SIGMOID, L_TANH, L_GELU,
    L_MAXPOOL, L_AVGPOOL, L_GAP, L_DROPOUT, L_ADD, L_FLATTEN
} LayerKind;

typedef struct {
    LayerKind kind;
    int in, in2, out;    /* activation tensor ids (in2: second input of ADD) */
    ConvShape cs;        /* L_CONV */
    int C, H, W;         /* input shape per sample (for BN: C channels over H*W) */
    int k, stride, pad;  /* pooling */
    int nin, nout;       /* L_DENSE */
    float p;             /* dropout rate, leaky slope or scale factor */
    long w, b;           /* parameter offsets (weight/gamma, bias/beta); -1 = none */
    long rm, rv;         /* batch norm: running mean/var offsets in buffers */
    int fan_in, fan_out; /* for initialisation */
    long cache;          /* offset of this layer's cache (BN stats, dropout mask) */
    long icache;         /* offset of this layer's int cache (max-pool argmax) */
} Layer;

typedef struct {
    int C, H, W; /* per-sample shape; vectors have H = W = 1 */
    long size;   /* C*H*W */
    long off;    /* offset in the activation arena, in units of max_batch floats */
} Tensor;

#define MAX_LAYERS 96
#define MAX_TENSORS 96

typedef struct {
    char name[CONFIG_NAME_LEN];
    int classes;
    Layer layers[MAX_LAYERS];
    int nlayers;
    Tensor tensors[MAX_TENSORS];
    int ntensors;
    int logits; /* id of the output tensor */
    int embed;  /* id of the penultimate (embedding) tensor */
    /* the arena */
    float *mem;
    long nparams, nbuffers;
    float *params, *grads, *opt_m, *opt_v, *buffers;
    /* activations */
    int max_batch;
    long act_floats, cache_floats, icache_ints, col_floats;
    float *acts, *dacts, *cache, *col;
    int *icache;
    float bn_momentum;
    int init_kind;
} Model;

/* Builds the named network (c->model, c->depth, c->width, c->act, c->mult,
   c->dropout) for inputs (C, H, W) and `classes` outputs, with activations for
   batches up to max_batch. Returns 0 or -1 with an error. */
int model_build(Model *m, const Config *c, int C, int H, int W, int classes, int max_batch);
void model_free(Model *m);
/* Initialises every parameter from the INIT stream (c->init) and resets the
   optimizer state and BN statistics. */
void model_init(Model *m, Rng *rng);
/* x: (B, C, H, W). train=1 uses batch statistics and dropout (from rng).
   Returns the logits (B, classes), valid until the next forward. */
float *model_forward(Model *m, const float *x, int B, int train, Rng *dropout_rng);
/* zeroes parameter gradients and activation gradients */
void model_zero_grad(Model *m, int B);
/* the gradient buffer of the logits: write dL/dlogits here, then call model_backward */
float *model_dlogits(Model *m);
float *model_tensor(Model *m, int id);
void model_backward(Model *m, int B);
/* "conv", "dense", "bn", ... */
const char *layer_kind_name(LayerKind k);
/* human-readable one-line summary: layers and parameter count */
int model_summary(const Model *m, char *buf, size_t cap);

/* ---- optimizers over the flat arena */
typedef struct {
    int kind; /* OPT_SGD ... */
    float lr, momentum, wd, beta1, beta2, eps;
    int nesterov;
    long t; /* steps taken (Adam bias correction) */
} Optim;
enum { OPT_SGD, OPT_ADAM, OPT_RMSPROP, OPT_ADAGRAD };

void optim_from_config(Optim *o, const Config *c);
/* One update of every parameter, PyTorch semantics: weight decay is added to
   the gradient (L2), then the optimizer's rule. */
void optim_step(Optim *o, Model *m, float lr);
/* Scales grads so their global L2 norm is at most max_norm; returns the norm
   before clipping. max_norm <= 0: only measures. */
float clip_grad_norm(Model *m, float max_norm);
/* learning rate of `epoch` (0-based) under the config's schedule */
float lr_at_epoch(const Config *c, int epoch);

#endif
