#include "train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

Run *run_new(const char *config) {
    Run *r = calloc(1, sizeof *r);
    if (!r) {
        nl_fail("out of memory. Hint: close other tabs or programs.");
        return NULL;
    }
    if (config_parse(&r->cfg, config) < 0 || loss_from_config(&r->loss, &r->cfg) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

int run_add_shard(Run *r, int split, const uint8_t *buf, size_t len, const char *name) {
    if (r->started) return nl_fail("%s: the run has already started. Hint: add shards before run_start.", name);
    if (split != 0 && split != 1) return nl_fail("%s: split must be 0 (train) or 1 (test). Hint: this is a bug.", name);
    Shard s;
    if (shard_read(buf, len, name, &s) < 0) return -1;
    Dataset *d = split == 0 ? &r->train_set : &r->test_set;
    if (split == 0 ? r->have_train : r->have_test) dataset_free(d);
    if (dataset_from_shard(d, &s, name) < 0) {
        shard_free(&s);
        return -1;
    }
    if (split == 0) r->have_train = 1;
    else r->have_test = 1;
    return 0;
}

/* a copy of perm[skip .. skip+want) (want = 0: to the end of perm[0..n)) */
static int *pick(const int *perm, int n, int skip, int want, int *count) {
    int avail = n - skip;
    int k = want > 0 && want < avail ? want : avail;
    int *idx = malloc(sizeof(int) * (size_t)(k > 0 ? k : 1));
    if (!idx) return NULL;
    memcpy(idx, perm + skip, sizeof(int) * (size_t)k);
    *count = k;
    return idx;
}

static int *permutation(Rng *rng, int n) {
    int *p = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!p) return NULL;
    for (int i = 0; i < n; i++) p[i] = i;
    rng_shuffle(rng, p, n);
    return p;
}

int run_start(Run *r) {
    Config *c = &r->cfg;
    if (r->started) return 0;
    if (!strcmp(c->dataset, "synth")) {
        if (!r->have_train) {
            if (synth_generate(&r->train_set, &r->test_set, 5000, 1000) < 0) return -1;
            r->have_train = r->have_test = 1;
        }
    } else if (!r->have_train || !r->have_test) {
        return nl_fail("dataset '%s' has no %s shard loaded. Hint: run `npm run prepare-data` "
                       "(or `npx noisylab download %s`) first.", c->dataset,
                       r->have_train ? "test" : "training", c->dataset);
    }
    Dataset *tr = &r->train_set, *te = &r->test_set;
    if (tr->c != te->c || tr->h != te->h || tr->w != te->w || tr->classes != te->classes)
        return nl_fail("the training (%dx%dx%d, %d classes) and test (%dx%dx%d, %d classes) shards "
                       "of '%s' do not match. Hint: prepare the dataset again.", tr->c, tr->h,
                       tr->w, tr->classes, te->c, te->h, te->w, te->classes, c->dataset);
    if (tr->n < 1 || te->n < 1)
        return nl_fail("dataset '%s' has an empty split. Hint: prepare the dataset again.", c->dataset);
    if (c->val >= tr->n)
        return nl_fail("config key 'val': %d validation images, but the training set has only %d. "
                       "Hint: lower val.", c->val, tr->n);
    norm_fit(&r->norm, tr);
    /* the split: one permutation of each set from the SPLIT stream */
    Rng split;
    rng_init(&split, (uint64_t)c->seed, STREAM_SPLIT);
    int *ptr = permutation(&split, tr->n), *pte = permutation(&split, te->n);
    if (!ptr || !pte) {
        free(ptr), free(pte);
        return nl_fail("out of memory. Hint: use a smaller dataset.");
    }
    r->val_idx = pick(ptr, c->val, 0, c->val, &r->nval); /* the first val images */
    r->train_idx = pick(ptr, tr->n, r->nval, c->train, &r->ntrain);
    r->test_idx = pick(pte, te->n, 0, c->test, &r->ntest);
    free(ptr), free(pte);
    int B = c->batch, EB = c->eval_batch;
    if (B > r->ntrain) B = c->batch = r->ntrain;
    int maxb = B > EB ? B : EB;
    if (model_build(&r->model, c, tr->c, tr->h, tr->w, tr->classes, maxb) < 0) return -1;
    r->model.init_kind = !strcmp(c->init, "kaiming-uniform") ? 1 : !strcmp(c->init, "kaiming-normal") ? 2
                       : !strcmp(c->init, "xavier-uniform") ? 3 : !strcmp(c->init, "xavier-normal") ? 4 : 0;
    Rng init;
    rng_init(&init, (uint64_t)c->seed, STREAM_INIT);
    model_init(&r->model, &init);
    optim_from_config(&r->opt, c);
    rng_init(&r->shuffle_rng, (uint64_t)c->seed, STREAM_SHUFFLE);
    rng_init(&r->dropout_rng, (uint64_t)c->seed, STREAM_DROPOUT);
    rng_init(&r->augment_rng, (uint64_t)c->seed, STREAM_AUGMENT);
    r->crop = strstr(c->aug, "crop") != NULL;
    r->flip = strstr(c->aug, "flip") != NULL;
    long img = (long)tr->c * tr->h * tr->w;
    int K = tr->classes;
    r->order = malloc(sizeof(int) * (size_t)r->ntrain);
    r->x = malloc(sizeof(float) * (size_t)(img * maxb));
    r->y = malloc(sizeof(int) * (size_t)maxb);
    r->probs = malloc(sizeof(float) * (size_t)(K * maxb));
    r->losses = malloc(sizeof(float) * (size_t)maxb);
    r->hist = calloc((size_t)c->epochs, sizeof(EpochStats));
    if (!r->order || !r->x || !r->y || !r->probs || !r->losses || !r->hist || !r->train_idx ||
        !r->test_idx || !r->val_idx)
        return nl_fail("out of memory. Hint: lower batch or use a smaller dataset.");
    /* drop_last = false: the final partial batch of an epoch still trains */
    r->steps_per_epoch = (r->ntrain + B - 1) / B;
    r->started = 1;
    return 0;
}

/* how many rows of logits have their (first) maximum at the label */
static long count_correct(const float *logits, const int *y, int B, int K) {
    long correct = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (long)b * K;
        int arg = 0;
        for (int k = 1; k < K; k++)
            if (z[k] > z[arg]) arg = k;
        correct += arg == y[b];
    }
    return correct;
}

void run_evaluate(Run *r, int split, float *loss, float *acc) {
    const Dataset *d = split == 2 ? &r->train_set : &r->test_set;
    const int *idx = split == 2 ? r->val_idx : r->test_idx;
    int n = split == 2 ? r->nval : r->ntest;
    int K = d->classes, EB = r->cfg.eval_batch;
    double lsum = 0;
    long correct = 0;
    for (int s = 0; s < n; s += EB) {
        int B = n - s < EB ? n - s : EB;
        fill_batch(r->x, r->y, d, &r->norm, idx + s, B, 0, 0, NULL);
        float *logits = model_forward(&r->model, r->x, B, 0, NULL);
        float mean = loss_compute(&r->loss, logits, r->y, B, K, r->probs, r->losses, NULL, 0);
        lsum += (double)mean * B;
        correct += count_correct(logits, r->y, B, K);
    }
    *loss = n ? (float)(lsum / n) : 0;
    *acc = n ? (float)correct / n : 0;
}

int run_step(Run *r, int max_steps) {
    if (!r->started && run_start(r) < 0) return -1;
    if (r->status == RUN_DONE || r->status == RUN_DIVERGED) return r->status;
    Config *c = &r->cfg;
    int K = r->train_set.classes;
    for (int done = 0; done < max_steps; done++) {
        if (r->step == 0) {
            for (int i = 0; i < r->ntrain; i++) r->order[i] = r->train_idx[i];
            rng_shuffle(&r->shuffle_rng, r->order, r->ntrain);
            r->loss_sum = r->norm_sum = 0;
            r->correct = r->seen = 0;
        }
        int s = r->step * c->batch;
        int B = r->ntrain - s < c->batch ? r->ntrain - s : c->batch;
        float lr = lr_at_epoch(c, r->epoch);
        fill_batch(r->x, r->y, &r->train_set, &r->norm, r->order + s, B, r->crop, r->flip, &r->augment_rng);
        model_zero_grad(&r->model, B);
        float *logits = model_forward(&r->model, r->x, B, 1, &r->dropout_rng);
        float loss = loss_compute(&r->loss, logits, r->y, B, K, r->probs, r->losses,
                                  model_dlogits(&r->model), 1.0f);
        if (!isfinite(loss)) {
            r->status = RUN_DIVERGED;
            snprintf(r->message, sizeof r->message,
                     "training diverged at epoch %d, step %d: the loss became %s. Hint: lower lr "
                     "(now %g), or set clip=5 to clip the gradient norm.",
                     r->epoch + 1, r->step + 1, isnan(loss) ? "NaN" : "infinite", (double)lr);
            return r->status;
        }
        model_backward(&r->model, B);
        r->norm_sum += clip_grad_norm(&r->model, (float)c->clip);
        optim_step(&r->opt, &r->model, lr);
        r->loss_sum += (double)loss * B;
        r->correct += count_correct(logits, r->y, B, K);
        r->seen += B;
        if (++r->step < r->steps_per_epoch) continue;
        /* end of epoch */
        EpochStats *e = &r->hist[r->epoch];
        e->epoch = r->epoch + 1;
        e->lr = lr;
        e->train_loss = (float)(r->loss_sum / r->seen);
        e->train_acc = (float)r->correct / r->seen;
        e->grad_norm = (float)(r->norm_sum / r->steps_per_epoch);
        if (r->nval) run_evaluate(r, 2, &e->val_loss, &e->val_acc);
        run_evaluate(r, 1, &e->test_loss, &e->test_acc);
        if (!isfinite(e->test_loss) && e->test_acc <= 1.0f / K + 1e-6f) {
            r->status = RUN_DIVERGED;
            snprintf(r->message, sizeof r->message,
                     "training diverged in epoch %d: the test loss is not finite. Hint: lower lr "
                     "(now %g), or set clip=5.", e->epoch, (double)lr);
            r->epoch++;
            return r->status;
        }
        r->epoch++;
        r->step = 0;
        r->status = r->epoch >= c->epochs ? RUN_DONE : RUN_EPOCH_END;
        return r->status;
    }
    return r->status = RUN_TRAINING;
}

/* ------------------------------------------------------------------------- */
/* JSON results                                                               */

static int jprintf(Run *r, size_t *n, const char *fmt, ...) NL_PRINTF(3, 4);
static int jprintf(Run *r, size_t *n, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(r->json ? r->json + *n : NULL, r->json ? r->json_cap - *n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return -1;
        if (r->json && *n + (size_t)k < r->json_cap) {
            *n += (size_t)k;
            return 0;
        }
        size_t cap = (r->json_cap + (size_t)k + 1) * 2;
        char *p = realloc(r->json, cap);
        if (!p) return -1;
        r->json = p, r->json_cap = cap;
    }
}

/* floats print with 9 significant digits: enough to round-trip a float, so
   equal JSON means bit-identical metrics */
static void epoch_fields(Run *r, size_t *n, const EpochStats *e) {
    jprintf(r, n, "{\"epoch\":%d,\"lr\":%.9g,\"train_loss\":%.9g,\"train_acc\":%.9g,\"test_loss\":%.9g,"
            "\"test_acc\":%.9g,\"grad_norm\":%.9g", e->epoch, (double)e->lr, (double)e->train_loss,
            (double)e->train_acc, (double)e->test_loss, (double)e->test_acc, (double)e->grad_norm);
    if (r->nval) jprintf(r, n, ",\"val_loss\":%.9g,\"val_acc\":%.9g", (double)e->val_loss, (double)e->val_acc);
    jprintf(r, n, "}");
}

const char *run_progress_json(Run *r) {
    size_t n = 0;
    jprintf(r, &n, "{\"epoch\":%d,\"step\":%d,\"steps_per_epoch\":%d,\"epochs\":%d,\"batch\":%d,"
            "\"status\":%d,\"train_size\":%d}", r->epoch, r->step, r->steps_per_epoch, r->cfg.epochs,
            r->cfg.batch, r->status, r->ntrain);
    return r->json;
}

const char *run_epoch_json(Run *r, int epoch) {
    size_t n = 0;
    if (epoch < 1 || epoch > r->epoch) jprintf(r, &n, "null");
    else epoch_fields(r, &n, &r->hist[epoch - 1]);
    return r->json;
}

/* the message as a JSON string body: quotes, backslashes and control bytes escaped */
static void json_escape(const char *s, char *out, size_t cap) {
    size_t j = 0;
    for (; *s && j + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') out[j++] = '\\', out[j++] = (char)ch;
        else if (ch < 0x20) j += (size_t)snprintf(out + j, cap - j, "\\u%04x", ch);
        else out[j++] = (char)ch;
    }
    out[j] = 0;
}

static const char *status_name(int s) {
    return s == RUN_DONE ? "finished" : s == RUN_DIVERGED ? "diverged" : "running";
}

const char *run_result_json(Run *r) {
    char cfg[8192], canon[4096], summary[2048], msg[1100];
    json_escape(r->message, msg, sizeof msg);
    config_to_json(&r->cfg, cfg, sizeof cfg);
    config_to_string(&r->cfg, canon, sizeof canon);
    model_summary(&r->model, summary, sizeof summary);
    size_t n = 0;
    float best = 0, last = 0;
    int best_epoch = 0;
    for (int i = 0; i < r->epoch; i++) {
        if (r->hist[i].test_acc > best) best = r->hist[i].test_acc, best_epoch = i + 1;
        last = r->hist[i].test_acc;
    }
    jprintf(r, &n, "{\"config\":\"%s\",\"config_full\":%s,\"status\":\"%s\",\"message\":\"%s\","
            "\"model\":\"%s\",\"params\":%ld,\"dataset\":{\"name\":\"%s\",\"train\":%d,\"val\":%d,"
            "\"test\":%d,\"classes\":%d,\"shape\":[%d,%d,%d],\"mean\":[", canon, cfg,
            status_name(r->status), msg, summary, r->model.nparams, r->cfg.dataset,
            r->ntrain, r->nval, r->ntest, r->train_set.classes, r->train_set.c, r->train_set.h,
            r->train_set.w);
    for (int c = 0; c < r->train_set.c; c++) jprintf(r, &n, "%s%.6f", c ? "," : "", (double)r->norm.mean[c]);
    jprintf(r, &n, "],\"std\":[");
    for (int c = 0; c < r->train_set.c; c++) jprintf(r, &n, "%s%.6f", c ? "," : "", (double)r->norm.std[c]);
    jprintf(r, &n, "]},\"epochs\":[");
    for (int i = 0; i < r->epoch; i++) {
        if (i) jprintf(r, &n, ",");
        epoch_fields(r, &n, &r->hist[i]);
    }
    jprintf(r, &n, "],\"best_test_acc\":%.9g,\"best_epoch\":%d,\"last_test_acc\":%.9g}", (double)best,
            best_epoch, (double)last);
    return r->json;
}

/* ------------------------------------------------------------------------- */
/* Checkpoints                                                                */

static const char CKPT_MAGIC[8] = {'N', 'L', 'C', 'K', 'P', 'T', '0', '1'};

/* a cursor over a checkpoint buffer: put writes (or only counts when buf is
   NULL), get reads and fails softly on truncation */
typedef struct {
    uint8_t *buf;
    const uint8_t *in;
    size_t n, len;
    int short_read;
} Cursor;

static void put(Cursor *c, const void *p, size_t n) {
    if (c->buf) memcpy(c->buf + c->n, p, n);
    c->n += n;
}

static void get(Cursor *c, void *p, size_t n) {
    if (c->short_read || c->len - c->n < n) {
        c->short_read = 1;
        memset(p, 0, n);
        return;
    }
    memcpy(p, c->in + c->n, n);
    c->n += n;
}

static void ckpt_write(Run *r, Cursor *c) {
    char canon[4096] = {0};
    uint32_t head[5] = {1, (uint32_t)r->model.nparams, (uint32_t)r->model.nbuffers, (uint32_t)r->epoch, 0};
    config_to_string(&r->cfg, canon, sizeof canon);
    head[4] = (uint32_t)strlen(canon);
    put(c, CKPT_MAGIC, 8);
    put(c, head, sizeof head);
    put(c, canon, head[4]);
    put(c, &r->opt.t, sizeof r->opt.t);
    put(c, &r->shuffle_rng, sizeof(Rng));
    put(c, &r->dropout_rng, sizeof(Rng));
    put(c, &r->augment_rng, sizeof(Rng));
    put(c, r->hist, sizeof(EpochStats) * (size_t)r->epoch);
    /* params, then opt_m and opt_v, then buffers: the grads are not state */
    put(c, r->model.params, sizeof(float) * (size_t)r->model.nparams);
    put(c, r->model.opt_m, sizeof(float) * 2 * (size_t)r->model.nparams);
    put(c, r->model.buffers, sizeof(float) * (size_t)r->model.nbuffers);
}

const uint8_t *run_checkpoint(Run *r, size_t *len) {
    if (!r->started && run_start(r) < 0) return NULL;
    if (r->step != 0) {
        nl_fail("a checkpoint can only be taken between epochs (the run is at step %d of epoch %d). "
                "Hint: take it when run_step returns an epoch end.", r->step, r->epoch + 1);
        return NULL;
    }
    Cursor c = {0};
    ckpt_write(r, &c); /* measure */
    uint8_t *p = realloc(r->ckpt, c.n);
    if (!p) {
        nl_fail("out of memory for a checkpoint of %zu bytes. Hint: free some memory.", c.n);
        return NULL;
    }
    r->ckpt = p;
    size_t n = c.n;
    c = (Cursor){.buf = p};
    ckpt_write(r, &c);
    *len = n;
    return p;
}

int run_restore(Run *r, const uint8_t *buf, size_t len) {
    if (!r->started && run_start(r) < 0) return -1;
    Cursor c = {.in = buf, .len = len};
    char magic[8], canon[4096], mine[4096];
    uint32_t head[5];
    get(&c, magic, 8);
    get(&c, head, sizeof head);
    if (c.short_read || memcmp(magic, CKPT_MAGIC, 8) != 0 || head[0] != 1)
        return nl_fail("this is not a noisylab checkpoint (bad magic or version). Hint: start the "
                       "run from the beginning.");
    if (head[4] >= sizeof canon)
        return nl_fail("the checkpoint is corrupt (config of %u bytes). Hint: start the run from "
                       "the beginning.", head[4]);
    get(&c, canon, head[4]);
    canon[head[4]] = 0;
    config_to_string(&r->cfg, mine, sizeof mine);
    if (!c.short_read && strcmp(canon, mine) != 0)
        return nl_fail("the checkpoint belongs to another config (%.200s), not this run's (%.200s). "
                       "Hint: open the run it was saved from.", canon, mine);
    if (head[1] != (uint32_t)r->model.nparams || head[2] != (uint32_t)r->model.nbuffers)
        return nl_fail("the checkpoint holds %u parameters and %u buffers, but this model has %ld "
                       "and %ld. Hint: start the run from the beginning.", head[1], head[2],
                       r->model.nparams, r->model.nbuffers);
    if (head[3] > (uint32_t)r->cfg.epochs)
        return nl_fail("the checkpoint is at epoch %u of a %d-epoch run. Hint: start the run from "
                       "the beginning.", head[3], r->cfg.epochs);
    /* read into a scratch copy first, so a truncated buffer leaves the run untouched */
    Run tmp = *r;
    EpochStats *hist = malloc(sizeof(EpochStats) * (size_t)(head[3] ? head[3] : 1));
    float *arena = malloc(sizeof(float) * (size_t)(3 * r->model.nparams + r->model.nbuffers + 1));
    if (!hist || !arena) {
        free(hist), free(arena);
        return nl_fail("out of memory restoring a checkpoint. Hint: free some memory.");
    }
    get(&c, &tmp.opt.t, sizeof tmp.opt.t);
    get(&c, &tmp.shuffle_rng, sizeof(Rng));
    get(&c, &tmp.dropout_rng, sizeof(Rng));
    get(&c, &tmp.augment_rng, sizeof(Rng));
    get(&c, hist, sizeof(EpochStats) * head[3]);
    get(&c, arena, sizeof(float) * (size_t)(3 * r->model.nparams + r->model.nbuffers));
    if (c.short_read || c.n != len) {
        free(hist), free(arena);
        return nl_fail("the checkpoint is %s (%zu bytes). Hint: start the run from the beginning, "
                       "or resume from an earlier checkpoint.", c.short_read ? "truncated" : "too long", len);
    }
    r->opt.t = tmp.opt.t;
    r->shuffle_rng = tmp.shuffle_rng, r->dropout_rng = tmp.dropout_rng, r->augment_rng = tmp.augment_rng;
    memcpy(r->hist, hist, sizeof(EpochStats) * head[3]);
    long np = r->model.nparams;
    memcpy(r->model.params, arena, sizeof(float) * (size_t)np);
    memcpy(r->model.opt_m, arena + np, sizeof(float) * 2 * (size_t)np);
    memcpy(r->model.buffers, arena + 3 * np, sizeof(float) * (size_t)r->model.nbuffers);
    free(hist), free(arena);
    r->epoch = (int)head[3];
    r->step = 0;
    r->status = r->epoch >= r->cfg.epochs ? RUN_DONE : RUN_EPOCH_END;
    return 0;
}

void run_free(Run *r) {
    if (!r) return;
    dataset_free(&r->train_set);
    dataset_free(&r->test_set);
    model_free(&r->model);
    free(r->train_idx), free(r->val_idx), free(r->test_idx), free(r->order);
    free(r->x), free(r->y), free(r->probs), free(r->losses), free(r->hist), free(r->json);
    free(r->ckpt);
    free(r);
}
