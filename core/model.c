/* model.c: building networks by name, their forward/backward passes over the
   layer list, initialisation and the optimizers. See model.h for the contract. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ------------------------------------------------------------------------- */
/* building: each helper appends one layer and returns its output tensor id   */

static int new_tensor(Model *m, int C, int H, int W) {
    /* a layer that shrinks its input to nothing fails the build here */
    if (m->ntensors >= MAX_TENSORS || C < 1 || H < 1 || W < 1) return -1;
    Tensor *t = &m->tensors[m->ntensors];
    t->C = C, t->H = H, t->W = W;
    t->size = (long)C * H * W;
    t->off = m->act_floats;
    m->act_floats += t->size * m->max_batch;
    return m->ntensors++;
}

static Layer *new_layer(Model *m, LayerKind kind, int in) {
    if (m->nlayers >= MAX_LAYERS) return NULL;
    Layer *l = &m->layers[m->nlayers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->in = in, l->in2 = -1, l->out = in;
    l->w = l->b = l->rm = l->rv = -1;
    l->cache = l->icache = -1;
    const Tensor *t = &m->tensors[in];
    l->C = t->C, l->H = t->H, l->W = t->W;
    return l;
}

static long new_params(Model *m, long n) {
    long off = m->nparams;
    m->nparams += n;
    return off;
}

/* A failed helper returns -1; every later helper passes -1 through, so a
   builder can chain calls and check once at the end. */
static int conv(Model *m, int in, int oc, int k, int stride, int pad) {
    if (in < 0) return -1;
    Layer *l = new_layer(m, L_CONV, in);
    if (!l) return -1;
    if (l->H + 2 * pad < k || l->W + 2 * pad < k) return -1;
    l->cs = conv2d_shape(l->C, l->H, l->W, oc, k, k, stride, pad);
    l->w = new_params(m, (long)oc * l->C * k * k);
    l->b = new_params(m, oc);
    l->fan_in = l->C * k * k, l->fan_out = oc * k * k;
    long col = conv2d_col_size(&l->cs);
    if (col > m->col_floats) m->col_floats = col;
    return l->out = new_tensor(m, oc, l->cs.OH, l->cs.OW);
}

static int dense(Model *m, int in, int nout) {
    if (in < 0) return -1;
    Layer *l = new_layer(m, L_DENSE, in);
    if (!l) return -1;
    l->nin = l->C * l->H * l->W, l->nout = nout;
    l->w = new_params(m, (long)nout * l->nin);
    l->b = new_params(m, nout);
    l->fan_in = l->nin, l->fan_out = nout;
    return l->out = new_tensor(m, nout, 1, 1);
}

static int bn(Model *m, int in) {
    if (in < 0) return -1;
    Layer *l = new_layer(m, L_BN, in);
    if (!l) return -1;
    l->w = new_params(m, l->C);
    l->b = new_params(m, l->C);
    l->rm = m->nbuffers, l->rv = m->nbuffers + l->C;
    m->nbuffers += 2L * l->C;
    l->cache = m->cache_floats; /* mean, rstd */
    m->cache_floats += 2L * l->C;
    return l->out = new_tensor(m, l->C, l->H, l->W);
}

/* ReLU runs in place (out = in): the pre-activation is consumed only by it. */
static int act(Model *m, int in, LayerKind kind, float slope) {
    if (in < 0) return -1;
    Layer *l = new_layer(m, kind, in);
    if (!l) return -1;
    l->p = slope;
    if (kind == L_RELU) return l->out = in;
    return l->out = new_tensor(m, l->C, l->H, l->W);
}

static int pool(Model *m, int in, LayerKind kind, int k, int stride, int pad) {
    if (in < 0) return -1;
    Layer *l = new_layer(m, kind, in);
    if (!l) return -1;
    l->k = k, l->stride = stride, l->pad = pad;
    if (l->H + 2 * pad < k || l->W + 2 * pad < k) return -1;
    int OH = (l->H + 2 * pad - k) / stride + 1, OW = (l->W + 2 * pad - k) / stride + 1;
    int out = new_tensor(m, l->C, OH, OW);
    if (kind == L_MAXPOOL) {
        l->icache = m->icache_ints;
        m->icache_ints += (long)l->C * OH * OW * m->max_batch;
    }
    return l->out = out;
}

static int dropout(Model *m, int in, float p) {
    if (in < 0 || p <= 0) return in;
    Layer *l = new_layer(m, L_DROPOUT, in);
    if (!l) return -1;
    l->p = p;
    l->out = new_tensor(m, l->C, l->H, l->W);
    l->cache = m->cache_floats;
    m->cache_floats += m->tensors[l->out].size * m->max_batch;
    return l->out;
}

static int add(Model *m, int a, int b) {
    if (a < 0 || b < 0) return -1;
    Layer *l = new_layer(m, L_ADD, a);
    if (!l) return -1;
    l->in2 = b;
    return l->out = new_tensor(m, l->C, l->H, l->W);
}

/* Flatten is a view: NCHW per sample is already the (C*H*W) vector that a
   dense layer reads, so the layer is recorded (for the summary) but moves no data. */
static int flatten(Model *m, int in) {
    if (in < 0) return -1;
    Layer *l = new_layer(m, L_FLATTEN, in);
    if (!l) return -1;
    return l->out = in;
}

static int conv_bn_relu(Model *m, int in, int oc) {
    return act(m, bn(m, conv(m, in, oc, 3, 1, 1)), L_RELU, 0);
}

static int scaled(double mult, int ch) {
    int c = (int)lround(ch * mult);
    return c < 1 ? 1 : c;
}

static LayerKind act_kind(const char *name) {
    if (!strcmp(name, "leaky-relu")) return L_LEAKY;
    if (!strcmp(name, "sigmoid")) return L_SIGMOID;
    if (!strcmp(name, "tanh")) return L_TANH;
    if (!strcmp(name, "gelu")) return L_GELU;
    return L_RELU;
}

int model_build(Model *m, const Config *c, int C, int H, int W, int classes, int max_batch) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", c->model);
    m->classes = classes;
    m->max_batch = max_batch;
    m->bn_momentum = (float)c->bn_momentum;
    int x = new_tensor(m, C, H, W), h = -1;
    double k = c->mult;
    const char *name = c->model;
    if (!strcmp(name, "linear")) {
        h = flatten(m, x);
    } else if (!strcmp(name, "mlp")) {
        h = flatten(m, x);
        for (int i = 0; i < c->depth; i++)
            h = dropout(m, act(m, dense(m, h, c->width), act_kind(c->act), 0.01f), (float)c->dropout);
    } else if (!strcmp(name, "cnn-small")) {
        /* conv - relu - 2x2 max pool - affine - relu - affine (cs231n's three-layer convnet) */
        h = act(m, conv(m, x, scaled(k, 32), 7, 1, 3), L_RELU, 0);
        h = flatten(m, pool(m, h, L_MAXPOOL, 2, 2, 0));
        h = dropout(m, act(m, dense(m, h, scaled(k, 100)), L_RELU, 0), (float)c->dropout);
    } else if (!strcmp(name, "refcnn")) {
        /* the benchmark's reference CNN: conv3x3 32, pool, conv3x3 64, pool, fc128, fc */
        h = pool(m, act(m, conv(m, x, scaled(k, 32), 3, 1, 1), L_RELU, 0), L_MAXPOOL, 2, 2, 0);
        h = pool(m, act(m, conv(m, h, scaled(k, 64), 3, 1, 1), L_RELU, 0), L_MAXPOOL, 2, 2, 0);
        h = act(m, dense(m, flatten(m, h), scaled(k, 128)), L_RELU, 0);
    } else if (!strcmp(name, "cnn4")) {
        /* Ma et al. 2020, MNIST: conv32-BN-ReLU, pool, conv64-BN-ReLU, pool, fc128-BN-ReLU, fc */
        h = pool(m, conv_bn_relu(m, x, scaled(k, 32)), L_MAXPOOL, 2, 2, 0);
        h = pool(m, conv_bn_relu(m, h, scaled(k, 64)), L_MAXPOOL, 2, 2, 0);
        h = act(m, bn(m, dense(m, flatten(m, h), scaled(k, 128))), L_RELU, 0);
        h = dropout(m, h, (float)c->dropout);
    } else if (!strcmp(name, "cnn8")) {
        /* Ma et al. 2020, CIFAR-10: [64,64] pool [128,128] pool [196,196] pool fc256, BN+ReLU everywhere */
        static const int ch[3] = {64, 128, 196};
        h = x;
        for (int s = 0; s < 3; s++) {
            h = conv_bn_relu(m, h, scaled(k, ch[s]));
            h = pool(m, conv_bn_relu(m, h, scaled(k, ch[s])), L_MAXPOOL, 2, 2, 0);
        }
        h = act(m, bn(m, dense(m, flatten(m, h), scaled(k, 256))), L_RELU, 0);
        h = dropout(m, h, (float)c->dropout);
    } else if (!strcmp(name, "resnet9")) {
        /* Page's ResNet-9 (DAWNBench): prep 64; [128, pool, res(128,128)]; [256, pool];
           [512, pool, res(512,512)]; global max pool; fc */
        h = conv_bn_relu(m, x, scaled(k, 64));
        h = pool(m, conv_bn_relu(m, h, scaled(k, 128)), L_MAXPOOL, 2, 2, 0);
        h = add(m, h, conv_bn_relu(m, conv_bn_relu(m, h, scaled(k, 128)), scaled(k, 128)));
        h = pool(m, conv_bn_relu(m, h, scaled(k, 256)), L_MAXPOOL, 2, 2, 0);
        h = pool(m, conv_bn_relu(m, h, scaled(k, 512)), L_MAXPOOL, 2, 2, 0);
        h = add(m, h, conv_bn_relu(m, conv_bn_relu(m, h, scaled(k, 512)), scaled(k, 512)));
        if (h >= 0) h = pool(m, h, L_MAXPOOL, m->tensors[h].H, m->tensors[h].H, 0);
        h = flatten(m, h);
    }
    if (h < 0)
        return nl_fail("model '%s' does not fit a %dx%dx%d input: its convolutions and pools "
                       "shrink it to nothing (or it has too many layers). Hint: use a model made "
                       "for this image size, e.g. mlp or cnn-small.", name, C, H, W);
    m->embed = h;
    m->logits = dense(m, h, classes);
    if (m->logits < 0)
        return nl_fail("model '%s' has too many layers. Hint: lower depth.", name);
    /* one arena: params | grads | opt_m | opt_v | buffers */
    size_t total = (size_t)(4 * m->nparams + m->nbuffers);
    m->mem = calloc(total, sizeof(float));
    m->acts = calloc((size_t)m->act_floats, sizeof(float));
    m->dacts = calloc((size_t)m->act_floats, sizeof(float));
    m->cache = calloc((size_t)m->cache_floats + 1, sizeof(float));
    m->col = calloc((size_t)m->col_floats + 1, sizeof(float));
    m->icache = calloc((size_t)m->icache_ints + 1, sizeof(int));
    if (!m->mem || !m->acts || !m->dacts || !m->cache || !m->col || !m->icache) {
        model_free(m);
        return nl_fail("out of memory for model '%s' (%ld parameters, %.0f MB of activations at "
                       "batch %d). Hint: lower batch or mult.", name, m->nparams,
                       m->act_floats * 8.0 / 1e6, max_batch);
    }
    m->params = m->mem;
    m->grads = m->params + m->nparams;
    m->opt_m = m->grads + m->nparams;
    m->opt_v = m->opt_m + m->nparams;
    m->buffers = m->opt_v + m->nparams;
    return 0;
}

void model_free(Model *m) {
    free(m->mem), free(m->acts), free(m->dacts), free(m->cache), free(m->col), free(m->icache);
    m->mem = m->acts = m->dacts = m->cache = m->col = NULL;
    m->icache = NULL;
}

/* ------------------------------------------------------------------------- */
/* initialisation                                                             */

void model_init(Model *m, Rng *rng) {
    memset(m->mem, 0, (size_t)(4 * m->nparams + m->nbuffers) * sizeof(float));
    for (int i = 0; i < m->nlayers; i++) {
        Layer *l = &m->layers[i];
        if (l->kind == L_BN) {
            for (int c = 0; c < l->C; c++) {
                m->params[l->w + c] = 1.0f;       /* gamma */
                m->buffers[l->rv + c] = 1.0f;     /* running var */
            }
            continue;
        }
        if (l->kind != L_CONV && l->kind != L_DENSE) continue;
        /* "default" follows the APL code: Kaiming-uniform for conv, Xavier-uniform for dense */
        int kind = m->init_kind;
        if (kind == 0) kind = l->kind == L_CONV ? 1 : 3;
        long n = l->kind == L_CONV ? (long)l->cs.OC * l->C * l->cs.KH * l->cs.KW : (long)l->nout * l->nin;
        float *w = m->params + l->w;
        double fi = l->fan_in, fo = l->fan_out;
        for (long j = 0; j < n; j++) {
            switch (kind) {
            case 1: w[j] = (float)sqrt(6.0 / fi) * (2.0f * rng_uniform(rng) - 1.0f); break;
            case 2: w[j] = (float)sqrt(2.0 / fi) * rng_normal(rng); break;
            case 3: w[j] = (float)sqrt(6.0 / (fi + fo)) * (2.0f * rng_uniform(rng) - 1.0f); break;
            default: w[j] = (float)sqrt(2.0 / (fi + fo)) * rng_normal(rng); break;
            }
        }
        /* biases stay zero */
    }
}

/* ------------------------------------------------------------------------- */
/* forward and backward                                                       */

float *model_tensor(Model *m, int id) { return m->acts + m->tensors[id].off; }
float *model_dlogits(Model *m) { return m->dacts + m->tensors[m->logits].off; }

float *model_forward(Model *m, const float *x, int B, int train, Rng *rng) {
    memcpy(m->acts, x, sizeof(float) * (size_t)B * m->tensors[0].size);
    for (int i = 0; i < m->nlayers; i++) {
        Layer *l = &m->layers[i];
        float *in = model_tensor(m, l->in), *out = model_tensor(m, l->out);
        long n = (long)B * m->tensors[l->out].size;
        float *W = l->w >= 0 ? m->params + l->w : NULL, *b = l->b >= 0 ? m->params + l->b : NULL;
        switch (l->kind) {
        case L_CONV: conv2d_forward(out, m->col, in, W, b, B, &l->cs); break;
        case L_DENSE: dense_forward(out, in, W, b, B, l->nin, l->nout); break;
        case L_BN:
            batchnorm_forward(out, m->cache + l->cache, m->cache + l->cache + l->C, in, W, b,
                              m->buffers + l->rm, m->buffers + l->rv, B, l->C, l->H * l->W, train,
                              m->bn_momentum, 1e-5f);
            break;
        case L_RELU: relu_forward(out, in, n); break;
        case L_LEAKY: leaky_relu_forward(out, in, n, l->p); break;
        case L_SIGMOID: sigmoid_forward(out, in, n); break;
        case L_TANH: tanh_forward(out, in, n); break;
        case L_GELU: gelu_forward(out, in, n); break;
        case L_MAXPOOL:
            maxpool2d_forward(out, m->icache + l->icache, in, B, l->C, l->H, l->W, l->k, l->stride, l->pad);
            break;
        case L_AVGPOOL: avgpool2d_forward(out, in, B, l->C, l->H, l->W, l->k, l->stride, l->pad); break;
        case L_GAP: global_avgpool_forward(out, in, B, l->C, l->H * l->W); break;
        case L_DROPOUT: dropout_forward(out, m->cache + l->cache, in, n, l->p, train, rng); break;
        case L_ADD: residual_forward(out, in, model_tensor(m, l->in2), n); break;
        case L_FLATTEN: break;
        }
    }
    return model_tensor(m, m->logits);
}

void model_zero_grad(Model *m, int B) {
    memset(m->grads, 0, sizeof(float) * (size_t)m->nparams);
    for (int t = 0; t < m->ntensors; t++)
        memset(m->dacts + m->tensors[t].off, 0, sizeof(float) * (size_t)B * m->tensors[t].size);
}

void model_backward(Model *m, int B) {
    for (int i = m->nlayers - 1; i >= 0; i--) {
        Layer *l = &m->layers[i];
        float *in = model_tensor(m, l->in), *out = model_tensor(m, l->out);
        float *dout = m->dacts + m->tensors[l->out].off;
        /* the network input needs no gradient */
        float *din = l->in == 0 ? NULL : m->dacts + m->tensors[l->in].off;
        long n = (long)B * m->tensors[l->out].size;
        float *W = l->w >= 0 ? m->params + l->w : NULL;
        float *dW = l->w >= 0 ? m->grads + l->w : NULL, *db = l->b >= 0 ? m->grads + l->b : NULL;
        switch (l->kind) {
        case L_CONV: conv2d_backward(din, dW, db, m->col, dout, in, W, B, &l->cs); break;
        case L_DENSE: dense_backward(din, dW, db, dout, in, W, B, l->nin, l->nout); break;
        case L_BN:
            if (din)
                batchnorm_backward(din, dW, db, dout, in, W, m->cache + l->cache,
                                   m->cache + l->cache + l->C, B, l->C, l->H * l->W);
            break;
        case L_RELU:
            /* in place: dout and din are the same buffer, so mask it instead of accumulating */
            if (din)
                for (long j = 0; j < n; j++)
                    if (!(out[j] > 0.0f)) din[j] = 0.0f;
            break;
        case L_LEAKY: if (din) leaky_relu_backward(din, dout, in, n, l->p); break;
        case L_SIGMOID: if (din) sigmoid_backward(din, dout, out, n); break;
        case L_TANH: if (din) tanh_backward(din, dout, out, n); break;
        case L_GELU: if (din) gelu_backward(din, dout, in, n); break;
        case L_MAXPOOL:
            if (din)
                maxpool2d_backward(din, dout, m->icache + l->icache, B, l->C,
                                   m->tensors[l->out].H, m->tensors[l->out].W);
            break;
        case L_AVGPOOL:
            if (din) avgpool2d_backward(din, dout, B, l->C, l->H, l->W, l->k, l->stride, l->pad);
            break;
        case L_GAP: if (din) global_avgpool_backward(din, dout, B, l->C, l->H * l->W); break;
        case L_DROPOUT: if (din) dropout_backward(din, dout, m->cache + l->cache, n); break;
        case L_ADD:
            residual_backward(din, l->in2 == 0 ? NULL : m->dacts + m->tensors[l->in2].off, dout, n);
            break;
        case L_FLATTEN: break;
        }
    }
}

const char *layer_kind_name(LayerKind k) {
    static const char *names[] = {"conv", "dense", "bn", "relu", "leaky-relu", "sigmoid", "tanh",
                                  "gelu", "maxpool", "avgpool", "gap", "dropout", "add", "flatten"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

int model_summary(const Model *m, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "%s: %ld parameters;", m->name, m->nparams);
    for (int i = 0; i < m->nlayers && n < cap; i++) {
        const Layer *l = &m->layers[i];
        const Tensor *t = &m->tensors[l->out];
        n += (size_t)snprintf(buf + n, cap - n, " %s", layer_kind_name(l->kind));
        if (l->kind == L_CONV) n += (size_t)snprintf(buf + n, cap - n, "%dx%d", l->cs.KH, l->cs.KW);
        if (l->kind == L_CONV || l->kind == L_DENSE || l->kind == L_MAXPOOL || l->kind == L_GAP)
            n += (size_t)snprintf(buf + n, cap - n, "(%dx%dx%d)", t->C, t->H, t->W);
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* optimizers                                                                 */

void optim_from_config(Optim *o, const Config *c) {
    memset(o, 0, sizeof *o);
    o->kind = !strcmp(c->opt, "adam") ? OPT_ADAM : !strcmp(c->opt, "rmsprop") ? OPT_RMSPROP
            : !strcmp(c->opt, "adagrad") ? OPT_ADAGRAD : OPT_SGD;
    o->lr = (float)c->lr, o->momentum = (float)c->momentum, o->wd = (float)c->wd;
    o->beta1 = (float)c->beta1, o->beta2 = (float)c->beta2, o->eps = (float)c->eps;
    o->nesterov = c->nesterov;
}

void optim_step(Optim *o, Model *m, float lr) {
    float *p = m->params, *g = m->grads, *mo = m->opt_m, *v = m->opt_v;
    long n = m->nparams;
    float mu = o->momentum, wd = o->wd, eps = o->eps;
    o->t++;
    switch (o->kind) {
    case OPT_SGD:
        for (long i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            if (mu > 0) {
                /* PyTorch: the buffer starts as the first gradient, not as zero */
                mo[i] = o->t == 1 ? d : mu * mo[i] + d;
                d = o->nesterov ? d + mu * mo[i] : mo[i];
            }
            p[i] -= lr * d;
        }
        break;
    case OPT_ADAM: {
        float b1 = o->beta1, b2 = o->beta2;
        float c1 = 1.0f - powf(b1, (float)o->t), c2 = 1.0f - powf(b2, (float)o->t);
        for (long i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            mo[i] = b1 * mo[i] + (1.0f - b1) * d;
            v[i] = b2 * v[i] + (1.0f - b2) * d * d;
            p[i] -= lr * (mo[i] / c1) / (sqrtf(v[i] / c2) + eps);
        }
        break;
    }
    case OPT_RMSPROP: {
        float a = o->beta2;
        for (long i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            v[i] = a * v[i] + (1.0f - a) * d * d;
            float step = d / (sqrtf(v[i]) + eps);
            if (mu > 0) step = mo[i] = mu * mo[i] + step;
            p[i] -= lr * step;
        }
        break;
    }
    case OPT_ADAGRAD:
        for (long i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            v[i] += d * d;
            p[i] -= lr * d / (sqrtf(v[i]) + eps);
        }
        break;
    }
}

float clip_grad_norm(Model *m, float max_norm) {
    double ss = 0;
    for (long i = 0; i < m->nparams; i++) ss += (double)m->grads[i] * m->grads[i];
    float norm = (float)sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float s = max_norm / (norm + 1e-6f);
        for (long i = 0; i < m->nparams; i++) m->grads[i] *= s;
    }
    return norm;
}

float lr_at_epoch(const Config *c, int epoch) {
    if (!strcmp(c->sched, "step")) return (float)(c->lr * pow(c->step_factor, epoch / c->step_every));
    if (!strcmp(c->sched, "cosine"))
        return (float)(c->lr_min + (c->lr - c->lr_min) * 0.5 * (1.0 + cos(3.14159265358979323846 * epoch / c->epochs)));
    return (float)c->lr;
}
