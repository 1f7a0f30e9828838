#include "train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "err.h"
#include "featurise.h"
#include "metrics.h"
#include "noise.h"

static int jprintf(Run *r, size_t *n, const char *fmt, ...) NL_PRINTF(3, 4);
static int finish_run(Run *r);
static void fit_centroids(Run *r);
static int graph_add_file(Run *r, int split, const uint8_t *buf, size_t len, const char *name);
static int graph_start(Run *r);
static int graph_step(Run *r);
static void graph_evaluate(Run *r, int split, float *loss, float *acc);
static void graph_fit_centroids(Run *r);
static const char *graph_gradcheck_json(Run *r);
static const float *gforward(Run *r, int train, Rng *rng);
static void manifest_value(const char *m, const char *key, char *out, size_t cap);

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
    r->graph = !strcmp(r->cfg.dataset, "cora") || !strcmp(r->cfg.dataset, "citeseer") ||
               config_is_kg(r->cfg.dataset);
    return r;
}

int run_add_shard(Run *r, int split, const uint8_t *buf, size_t len, const char *name) {
    if (r->started) return nl_fail("%s: the run has already started. Hint: add shards before run_start.", name);
    if (r->graph) return graph_add_file(r, split, buf, len, name);
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

/* classes=...: keeps the images of the listed classes in the order of the
   permutations perm_tr[0..*ntr) and perm_te[0..*nte) (shortening them) and
   relabels both sets 0..k-1 in the listed order; the other images get label
   -1 and are in no subset (train.h). */
static int select_classes(Run *r, int *perm_tr, int *ntr, int *perm_te, int *nte) {
    Dataset *sets[2] = {&r->train_set, &r->test_set};
    int *perms[2] = {perm_tr, perm_te}, *lens[2] = {ntr, nte};
    int K = r->train_set.classes, k = r->nkept;
    r->classes_orig = K;
    if (k == 0) return 0;
    int *remap = malloc(sizeof(int) * (size_t)K);
    if (!remap) return nl_fail("out of memory. Hint: use a smaller dataset.");
    for (int c = 0; c < K; c++) remap[c] = -1;
    for (int j = 0; j < k; j++) {
        if (r->kept[j] >= K) {
            free(remap);
            return nl_fail("config key 'classes': dataset '%s' has %d classes, 0 to %d, so class %d "
                           "does not exist. Hint: drop class %d from classes.", r->cfg.dataset, K,
                           K - 1, r->kept[j], r->kept[j]);
        }
        remap[r->kept[j]] = j;
    }
    for (int s = 0; s < 2; s++) {
        Dataset *d = sets[s];
        for (int i = 0; i < d->n; i++)
            d->labels[i] = d->labels[i] >= 0 && d->labels[i] < K ? remap[d->labels[i]] : -1;
        int m = 0;
        for (int i = 0; i < *lens[s]; i++)
            if (d->labels[perms[s][i]] >= 0) perms[s][m++] = perms[s][i];
        *lens[s] = m;
        d->classes = k;
    }
    free(remap);
    if (*ntr == 0 || *nte == 0)
        return nl_fail("config key 'classes': the classes %s of '%s' have no %s images. Hint: "
                       "prepare the dataset again, or keep other classes.", r->cfg.classes,
                       r->cfg.dataset, *ntr ? "test" : "training");
    return 0;
}

/* the name of label k: the dataset's name of its class, or the class number */
static void label_name(const Run *r, int k, char *buf, size_t cap) {
    int orig = r->nkept ? r->kept[k] : k;
    int K = r->classes_orig ? r->classes_orig : r->train_set.classes; /* graphs: no subset */
    const char *const *names = dataset_class_names(r->cfg.dataset, K);
    if (r->kg) names = (const char *const *)r->kg->class_names; /* IRIs or literals of the KG */
    if (names) snprintf(buf, cap, "%s", names[orig]);
    else snprintf(buf, cap, "%d", orig);
}

/* Class imbalance subsamples the training subset (not val, not test), before
   the noise, as in Cui et al.; class_counts records what is left. */
static int apply_imbalance(Run *r) {
    int K = r->train_set.classes;
    r->class_counts = calloc((size_t)K, sizeof(long));
    if (!r->class_counts) return nl_fail("out of memory. Hint: use a smaller dataset.");
    if (!strcmp(r->cfg.imbalance, "none")) {
        for (int i = 0; i < r->ntrain; i++) r->class_counts[r->train_set.labels[r->train_idx[i]]]++;
        return 0;
    }
    int *kept = malloc(sizeof(int) * (size_t)r->ntrain), nk = 0;
    if (!kept) return nl_fail("out of memory. Hint: use a smaller dataset.");
    if (imbalance_select(&r->cfg, K, r->train_set.labels, r->train_idx, r->ntrain, kept, &nk,
                         r->class_counts) < 0) {
        free(kept);
        return -1;
    }
    free(r->train_idx);
    r->train_idx = kept, r->ntrain = nk;
    if (nk < 1) return nl_fail("config key 'rho': the imbalance leaves no training images. Hint: lower rho.");
    return 0;
}

/* relabels train_set.labels[idx[0..n)] through the noise model */
static int noise_subset(Run *r, const int *idx, int n, Rng *rng, long *counts) {
    int K = r->train_set.classes;
    if (n == 0) return 0;
    int *clean = calloc((size_t)n, sizeof(int)), *given = calloc((size_t)n, sizeof(int));
    if (!clean || !given) {
        free(clean), free(given);
        return nl_fail("out of memory. Hint: use a smaller dataset.");
    }
    for (int i = 0; i < n; i++) clean[i] = r->train_set.labels[idx[i]];
    int rc = noise_apply(&r->cfg, r->cfg.dataset, K, clean, n, given, rng, counts);
    if (rc == 0)
        for (int i = 0; i < n; i++) r->train_set.labels[idx[i]] = given[i];
    free(clean), free(given);
    return rc;
}

/* Label noise, from the NOISE stream, on the training and the validation
   subsets (a user holding out validation data from noisy labels has noisy
   validation labels too); the test set stays clean. The true labels are kept
   in r->clean for the memorisation curve and the gallery. */
static int apply_noise(Run *r) {
    Dataset *tr = &r->train_set;
    int K = tr->classes;
    r->clean = malloc(sizeof(int) * (size_t)tr->n);
    r->noise_counts = calloc((size_t)K * K, sizeof(long));
    r->given_counts = calloc((size_t)K, sizeof(long));
    long *val_counts = calloc((size_t)K * K, sizeof(long));
    if (!r->clean || !r->noise_counts || !r->given_counts || !val_counts) {
        free(val_counts);
        return nl_fail("out of memory. Hint: use a smaller dataset.");
    }
    memcpy(r->clean, tr->labels, sizeof(int) * (size_t)tr->n);
    Rng rng;
    rng_init(&rng, (uint64_t)r->cfg.seed, STREAM_NOISE);
    int rc = noise_subset(r, r->train_idx, r->ntrain, &rng, r->noise_counts);
    if (rc == 0) rc = noise_subset(r, r->val_idx, r->nval, &rng, val_counts);
    free(val_counts);
    if (rc < 0) return -1;
    long wrong = 0;
    for (int i = 0; i < r->ntrain; i++) {
        int j = r->train_idx[i];
        wrong += tr->labels[j] != r->clean[j];
        r->given_counts[tr->labels[j]]++;
    }
    r->noise_rate = r->ntrain ? (double)wrong / r->ntrain : 0;
    return 0;
}

int run_start(Run *r) {
    Config *c = &r->cfg;
    if (r->started) return 0;
    if (r->graph) return graph_start(r);
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
    norm_fit(&r->norm, tr);
    /* the split: one permutation of each set from the SPLIT stream, then the class subset */
    Rng split;
    rng_init(&split, (uint64_t)c->seed, STREAM_SPLIT);
    int *ptr = permutation(&split, tr->n), *pte = permutation(&split, te->n);
    int ntr = tr->n, nte = te->n;
    if (!ptr || !pte) {
        free(ptr), free(pte);
        return nl_fail("out of memory. Hint: use a smaller dataset.");
    }
    r->nkept = config_classes(c, r->kept, CONFIG_MAX_CLASSES);
    if (select_classes(r, ptr, &ntr, pte, &nte) < 0) {
        free(ptr), free(pte);
        return -1;
    }
    if (c->val >= ntr) {
        free(ptr), free(pte);
        return nl_fail("config key 'val': %d validation images, but the training set has only %d%s. "
                       "Hint: lower val.", c->val, ntr, r->nkept ? " of the kept classes" : "");
    }
    r->val_idx = pick(ptr, c->val, 0, c->val, &r->nval); /* the first val images */
    r->train_idx = pick(ptr, ntr, r->nval, c->train, &r->ntrain);
    r->test_idx = pick(pte, nte, 0, c->test, &r->ntest);
    free(ptr), free(pte);
    if (!r->val_idx || !r->train_idx || !r->test_idx) return nl_fail("out of memory. Hint: use a smaller dataset.");
    if (c->patience > 0 && r->nval == 0)
        return nl_fail("config key 'patience': early stopping watches the validation accuracy, but "
                       "val=0. Hint: hold out a validation set, e.g. val=5000, or set patience=0.");
    if (apply_imbalance(r) < 0 || apply_noise(r) < 0) return -1;
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
    /* class-balanced losses weight by the counts of the labels training sees */
    if (loss_set_class_counts(&r->loss, r->given_counts, tr->classes) < 0) return -1;
    rng_init(&r->loss_rng, (uint64_t)c->seed, STREAM_LOSS);
    r->loss.rng = &r->loss_rng;
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
    r->yc = malloc(sizeof(int) * (size_t)maxb);
    if (c->patience > 0)
        r->best = malloc(sizeof(float) * (size_t)(r->model.nparams + r->model.nbuffers));
    r->probs = malloc(sizeof(float) * (size_t)(K * maxb));
    r->losses = malloc(sizeof(float) * (size_t)maxb);
    r->hist = calloc((size_t)c->epochs, sizeof(EpochStats));
    if (r->loss.kind == LOSS_TRIPLET) r->centroids = malloc(sizeof(float) * (size_t)K * K);
    if (!r->order || !r->x || !r->y || !r->yc || !r->probs || !r->losses || !r->hist ||
        (c->patience > 0 && !r->best) || (r->loss.kind == LOSS_TRIPLET && !r->centroids))
        return nl_fail("out of memory. Hint: lower batch or use a smaller dataset.");
    fit_centroids(r);
    /* drop_last = false: the final partial batch of an epoch still trains */
    r->steps_per_epoch = (r->ntrain + B - 1) / B;
    r->started = 1;
    return 0;
}

/* The prediction for one output row: its largest entry, or, for triplet (an
   embedding with no class outputs), the nearest class centroid. */
static int predict(const Run *r, const float *z) {
    int K = r->train_set.classes, best = 0;
    if (!r->centroids) {
        for (int k = 1; k < K; k++)
            if (z[k] > z[best]) best = k;
        return best;
    }
    double p = r->cfg.pnorm, dbest = INFINITY;
    for (int c = 0; c < K; c++) {
        double d = 0;
        for (int k = 0; k < K; k++) d += pow(fabs((double)z[k] - r->centroids[c * K + k]), p);
        if (d < dbest) dbest = d, best = c;
    }
    return best;
}

static long count_correct(const Run *r, const float *out, const int *y, int B) {
    long correct = 0;
    for (int b = 0; b < B; b++) correct += predict(r, out + (long)b * r->train_set.classes) == y[b];
    return correct;
}

/* Triplet: the centroid of each class is the mean embedding of up to 2,000
   training images with that (given) label, in eval mode. Refit after each
   epoch, so the training accuracy of an epoch uses the previous epoch's
   centroids. */
static void fit_centroids(Run *r) {
    if (!r->centroids) return;
    if (r->graph) {
        graph_fit_centroids(r);
        return;
    }
    int K = r->train_set.classes, EB = r->cfg.eval_batch, n = r->ntrain < 2000 ? r->ntrain : 2000;
    double *sum = calloc((size_t)K * K, sizeof(double));
    long *count = calloc((size_t)K, sizeof(long));
    if (!sum || !count) {
        free(sum), free(count);
        return; /* keep the previous centroids */
    }
    for (int s = 0; s < n; s += EB) {
        int B = n - s < EB ? n - s : EB;
        fill_batch(r->x, r->y, &r->train_set, &r->norm, r->train_idx + s, B, 0, 0, NULL);
        const float *z = model_forward(&r->model, r->x, B, 0, NULL);
        for (int b = 0; b < B; b++) {
            count[r->y[b]]++;
            for (int k = 0; k < K; k++) sum[r->y[b] * K + k] += z[(long)b * K + k];
        }
    }
    for (int c = 0; c < K; c++)
        for (int k = 0; k < K; k++) r->centroids[c * K + k] = count[c] ? (float)(sum[c * K + k] / count[c]) : INFINITY;
    free(sum), free(count);
}

void run_evaluate(Run *r, int split, float *loss, float *acc) {
    if (r->graph) {
        graph_evaluate(r, split, loss, acc);
        return;
    }
    const Dataset *d = split == 2 ? &r->train_set : &r->test_set;
    const int *idx = split == 2 ? r->val_idx : r->test_idx;
    int n = split == 2 ? r->nval : r->ntest;
    int K = d->classes, EB = r->cfg.eval_batch;
    double lsum = 0;
    long correct = 0;
    /* triplet draws its triplets from the loss's generator: evaluation uses its
       own, so evaluating never changes the training triplets */
    Rng eval_rng;
    rng_init(&eval_rng, (uint64_t)r->cfg.seed, STREAM_EVAL);
    Rng *train_rng = r->loss.rng;
    r->loss.rng = &eval_rng;
    for (int s = 0; s < n; s += EB) {
        int B = n - s < EB ? n - s : EB;
        fill_batch(r->x, r->y, d, &r->norm, idx + s, B, 0, 0, NULL);
        float *logits = model_forward(&r->model, r->x, B, 0, NULL);
        float mean = loss_compute(&r->loss, logits, r->y, B, K, r->probs, r->losses, NULL, 0);
        lsum += (double)mean * B;
        correct += count_correct(r, logits, r->y, B);
    }
    r->loss.rng = train_rng;
    *loss = n ? (float)(lsum / n) : 0;
    *acc = n ? (float)correct / n : 0;
}

static int diverged(Run *r, const char *what, float value, float lr) {
    r->status = RUN_DIVERGED;
    snprintf(r->message, sizeof r->message,
             "training diverged at epoch %d, step %d: %s became %s. The %d finished epoch%s are "
             "kept. Hint: lower the learning rate (now lr=%g), or set clip=5 to clip the gradient norm.",
             r->epoch + 1, r->step + 1, what, isnan(value) ? "NaN" : "infinite", r->epoch,
             r->epoch == 1 ? "" : "s", (double)lr);
    return r->status;
}

static void snapshot(Run *r, int save) {
    Model *m = &r->model;
    float *p = r->best, *q = r->best + m->nparams;
    size_t np = sizeof(float) * (size_t)m->nparams, nb = sizeof(float) * (size_t)m->nbuffers;
    if (save) memcpy(p, m->params, np), memcpy(q, m->buffers, nb);
    else memcpy(m->params, p, np), memcpy(m->buffers, q, nb);
}

/* After each epoch with a validation set: remember the best epoch; with
   patience, keep its weights and stop once `patience` epochs bring no better
   validation accuracy. A run that ends with patience set always ends on the
   best weights. */
static void watch_validation(Run *r, const EpochStats *e) {
    int patience = r->cfg.patience;
    if (r->best_val_epoch == 0 || e->val_acc > r->best_val) {
        r->best_val = e->val_acc, r->best_val_epoch = e->epoch;
        if (patience) snapshot(r, 1);
    } else if (patience && e->epoch - r->best_val_epoch >= patience && r->status != RUN_DONE) {
        r->stopped_early = 1;
        r->status = RUN_DONE;
    }
    if (patience && r->status == RUN_DONE) {
        snapshot(r, 0);
        fit_centroids(r);
    }
}

int run_step(Run *r, int max_steps) {
    if (!r->started && run_start(r) < 0) return -1;
    if (r->status == RUN_DONE || r->status == RUN_DIVERGED) return r->status;
    if (r->graph) return max_steps > 0 ? graph_step(r) : r->status;
    Config *c = &r->cfg;
    int K = r->train_set.classes;
    for (int done = 0; done < max_steps; done++) {
        if (r->step == 0) {
            for (int i = 0; i < r->ntrain; i++) r->order[i] = r->train_idx[i];
            rng_shuffle(&r->shuffle_rng, r->order, r->ntrain);
            r->loss_sum = r->norm_sum = 0;
            r->correct = r->correct_clean = r->seen = 0;
        }
        int s = r->step * c->batch;
        int B = r->ntrain - s < c->batch ? r->ntrain - s : c->batch;
        float lr = lr_at_epoch(c, r->epoch);
        fill_batch(r->x, r->y, &r->train_set, &r->norm, r->order + s, B, r->crop, r->flip, &r->augment_rng);
        for (int b = 0; b < B; b++) r->yc[b] = r->clean[r->order[s + b]];
        model_zero_grad(&r->model, B);
        float *logits = model_forward(&r->model, r->x, B, 1, &r->dropout_rng);
        float loss = loss_compute(&r->loss, logits, r->y, B, K, r->probs, r->losses,
                                  model_dlogits(&r->model), 1.0f);
        if (!isfinite(loss)) return diverged(r, "the loss", loss, lr);
        model_backward(&r->model, B);
        /* the weights are updated only with a finite gradient, so a diverged run
           keeps the last finite weights */
        float gnorm = clip_grad_norm(&r->model, (float)c->clip);
        if (!isfinite(gnorm)) return diverged(r, "the gradient norm", gnorm, lr);
        r->norm_sum += gnorm;
        optim_step(&r->opt, &r->model, lr);
        r->loss_sum += (double)loss * B;
        r->correct += count_correct(r, logits, r->y, B);
        r->correct_clean += count_correct(r, logits, r->yc, B);
        r->seen += B;
        if (++r->step < r->steps_per_epoch) continue;
        /* end of epoch */
        EpochStats *e = &r->hist[r->epoch];
        e->epoch = r->epoch + 1;
        e->lr = lr;
        e->train_loss = (float)(r->loss_sum / r->seen);
        e->train_acc = (float)r->correct / r->seen;
        e->train_acc_clean = (float)r->correct_clean / r->seen;
        e->grad_norm = (float)(r->norm_sum / r->steps_per_epoch);
        fit_centroids(r);
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
        if (r->nval) watch_validation(r, e);
        if (r->status == RUN_DONE && finish_run(r) < 0) return -1;
        return r->status;
    }
    return r->status = RUN_TRAINING;
}

/* ------------------------------------------------------------------------- */
/* End-of-run metrics                                                          */

static void softmax_row(const float *z, float *p, int K) {
    float mx = z[0];
    for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    double sum = 0;
    for (int k = 0; k < K; k++) sum += exp((double)(z[k] - mx));
    for (int k = 0; k < K; k++) p[k] = (float)(exp((double)(z[k] - mx)) / sum);
}


/* the three most probable classes of p, as JSON [[class, prob], ...] */
static void top3_json(Run *r, size_t *n, const float *p, int K) {
    int used[3] = {-1, -1, -1};
    jprintf(r, n, "[");
    for (int t = 0; t < 3 && t < K; t++) {
        int best = -1;
        for (int k = 0; k < K; k++)
            if (k != used[0] && k != used[1] && (best < 0 || p[k] > p[best])) best = k;
        used[t] = best;
        jprintf(r, n, "%s[%d,%.6g]", t ? "," : "", best, (double)p[best]);
    }
    jprintf(r, n, "]");
}

static void floats_json(Run *r, size_t *n, const char *name, const float *v, int K) {
    jprintf(r, n, ",\"%s\":[", name);
    for (int k = 0; k < K; k++) jprintf(r, n, "%s%.6g", k ? "," : "", (double)v[k]);
    jprintf(r, n, "]");
}

static void matrix_json(Run *r, size_t *n, const long *m, int K) {
    jprintf(r, n, "[");
    for (int i = 0; i < K; i++) {
        jprintf(r, n, "%s[", i ? "," : "");
        for (int j = 0; j < K; j++) jprintf(r, n, "%s%ld", j ? "," : "", m[(long)i * K + j]);
        jprintf(r, n, "]");
    }
    jprintf(r, n, "]");
}

/* Evaluates the final model once on the whole test subset and builds the
   "final", "embedding", "mistakes" and "relabelled" parts of the result:
   confusion matrix, per-class and macro precision/recall/F1, one-vs-rest
   ROC-AUC and PR-AUC, a t-SNE of the penultimate layer for the first `tsne`
   test points (the test subset is already in random order), the first 64
   misclassified test images and the first 64 relabelled training images. */
static int finish_run(Run *r) {
    int K = r->train_set.classes, n = r->ntest, EB = r->cfg.eval_batch;
    Model *m = &r->model;
    int ne = r->cfg.tsne < n ? r->cfg.tsne : n;
    /* the embedding: the penultimate tensor; for graphs the hidden layer */
    long D = r->net ? r->net->H1 : r->graph ? r->gnn->H1 : m->tensors[m->embed].size;
    float *P = malloc(sizeof(float) * (size_t)n * K), *emb = malloc(sizeof(float) * (size_t)(ne * D + 1));
    float *xy = malloc(sizeof(float) * (size_t)(2 * ne + 1));
    int *pred = malloc(sizeof(int) * (size_t)n), *truth = malloc(sizeof(int) * (size_t)n);
    long *cm = calloc((size_t)K * K, sizeof(long));
    float *f = malloc(sizeof(float) * (size_t)K * 7);
    int rc = -1;
    if (!P || !emb || !xy || !pred || !truth || !cm || !f) {
        nl_fail("out of memory computing the final metrics. Hint: lower test or tsne.");
        goto done;
    }
    if (r->graph) {
        /* one eval-mode forward: all test nodes at once; the test subset is in
           ascending id order, so t-SNE takes the first `tsne` test ids */
        const float *logits = gforward(r, 0, NULL);
        const float *hidden = r->net ? r->net->a1 : r->gnn->a1;
        for (int i = 0; i < n; i++) {
            int j = r->test_idx[i];
            truth[i] = r->train_set.labels[j];
            softmax_row(logits + (long)j * K, P + (long)i * K, K);
            pred[i] = predict(r, logits + (long)j * K);
            if (i < ne) memcpy(emb + i * D, hidden + (long)j * D, sizeof(float) * (size_t)D);
        }
    }
    for (int s = 0; !r->graph && s < n; s += EB) {
        int B = n - s < EB ? n - s : EB;
        fill_batch(r->x, truth + s, &r->test_set, &r->norm, r->test_idx + s, B, 0, 0, NULL);
        const float *logits = model_forward(m, r->x, B, 0, NULL);
        const float *act = model_tensor(m, m->embed);
        for (int b = 0; b < B; b++) {
            softmax_row(logits + (long)b * K, P + (long)(s + b) * K, K);
            pred[s + b] = predict(r, logits + (long)b * K);
            if (s + b < ne) memcpy(emb + (s + b) * D, act + b * D, sizeof(float) * (size_t)D);
        }
    }
    float *acc = f, *prec = f + K, *rec = f + 2 * K, *f1 = f + 3 * K, *roc = f + 4 * K, *pr = f + 5 * K;
    float macro[3];
    long right = 0;
    confusion_matrix(truth, pred, n, K, cm);
    per_class_prf(cm, K, prec, rec, f1, macro);
    float roc_macro = roc_auc_ovr(P, truth, n, K, roc), pr_macro = pr_auc_ovr(P, truth, n, K, pr);
    for (int c = 0; c < K; c++) {
        long row = 0;
        for (int j = 0; j < K; j++) row += cm[(long)c * K + j];
        acc[c] = row ? (float)cm[(long)c * K + c] / row : 0;
        right += cm[(long)c * K + c];
    }
    size_t len = 0;
    jprintf(r, &len, ",\"final\":{\"test_acc\":%.9g", n ? (double)right / n : 0.0);
    floats_json(r, &len, "per_class_acc", acc, K);
    jprintf(r, &len, ",\"confusion\":");
    matrix_json(r, &len, cm, K);
    floats_json(r, &len, "precision", prec, K);
    floats_json(r, &len, "recall", rec, K);
    floats_json(r, &len, "f1", f1, K);
    floats_json(r, &len, "roc_auc", roc, K);
    floats_json(r, &len, "pr_auc", pr, K);
    jprintf(r, &len, ",\"macro\":{\"precision\":%.6g,\"recall\":%.6g,\"f1\":%.6g,\"roc_auc\":%.6g,"
            "\"pr_auc\":%.6g}}", (double)macro[0], (double)macro[1], (double)macro[2],
            (double)roc_macro, (double)pr_macro);
    /* t-SNE needs a few points more than 3 x its perplexity */
    if (ne >= 8) {
        Rng rng;
        rng_init(&rng, (uint64_t)r->cfg.seed, STREAM_TSNE);
        float perplexity = ne >= 100 ? 30.0f : (float)(ne - 1) / 3.0f;
        if (tsne_2d(emb, ne, (int)D, perplexity, 500, &rng, xy) < 0) goto done;
        jprintf(r, &len, ",\"embedding\":{\"dim\":%ld,\"idx\":[", D);
        for (int i = 0; i < ne; i++) jprintf(r, &len, "%s%d", i ? "," : "", r->test_idx[i]);
        jprintf(r, &len, "],\"label\":[");
        for (int i = 0; i < ne; i++) jprintf(r, &len, "%s%d", i ? "," : "", truth[i]);
        jprintf(r, &len, "],\"pred\":[");
        for (int i = 0; i < ne; i++) jprintf(r, &len, "%s%d", i ? "," : "", pred[i]);
        jprintf(r, &len, "],\"xy\":[");
        for (int i = 0; i < ne; i++)
            jprintf(r, &len, "%s[%.5g,%.5g]", i ? "," : "", (double)xy[2 * i], (double)xy[2 * i + 1]);
        jprintf(r, &len, "]}");
    }
    jprintf(r, &len, ",\"mistakes\":[");
    for (int i = 0, shown = 0; i < n && shown < 64; i++) {
        if (pred[i] == truth[i]) continue;
        jprintf(r, &len, "%s{\"idx\":%d,\"label\":%d,\"pred\":%d,\"top3\":", shown++ ? "," : "",
                r->test_idx[i], truth[i], pred[i]);
        top3_json(r, &len, P + (long)i * K, K);
        jprintf(r, &len, "}");
    }
    /* relabelled training images: what the model now predicts for them */
    int idx[64], nr = 0, cap = r->graph ? 64 : m->max_batch < 64 ? m->max_batch : 64;
    for (int i = 0; i < r->ntrain && nr < cap; i++) {
        int j = r->train_idx[i];
        if (r->train_set.labels[j] != r->clean[j]) idx[nr++] = j;
    }
    jprintf(r, &len, "],\"relabelled\":[");
    if (nr && r->graph) {
        const float *logits = gforward(r, 0, NULL);
        for (int i = 0; i < nr; i++) {
            float *p = r->probs;
            softmax_row(logits + (long)idx[i] * K, p, K);
            jprintf(r, &len, "%s{\"idx\":%d,\"given\":%d,\"true\":%d,\"pred\":%d,\"top3\":",
                    i ? "," : "", idx[i], r->train_set.labels[idx[i]], r->clean[idx[i]],
                    predict(r, logits + (long)idx[i] * K));
            top3_json(r, &len, p, K);
            jprintf(r, &len, "}");
        }
    } else if (nr) {
        int given[64];
        fill_batch(r->x, given, &r->train_set, &r->norm, idx, nr, 0, 0, NULL);
        const float *logits = model_forward(m, r->x, nr, 0, NULL);
        for (int i = 0; i < nr; i++) {
            float *p = r->probs; /* K floats of scratch */
            softmax_row(logits + (long)i * K, p, K);
            jprintf(r, &len, "%s{\"idx\":%d,\"given\":%d,\"true\":%d,\"pred\":%d,\"top3\":",
                    i ? "," : "", idx[i], given[i], r->clean[idx[i]], predict(r, logits + (long)i * K));
            top3_json(r, &len, p, K);
            jprintf(r, &len, "}");
        }
    }
    jprintf(r, &len, "]");
    free(r->final_json);
    r->final_json = malloc(len + 1);
    if (!r->final_json) {
        nl_fail("out of memory for the final metrics. Hint: lower tsne.");
        goto done;
    }
    memcpy(r->final_json, r->json, len + 1);
    rc = 0;
done:
    free(P), free(emb), free(xy), free(pred), free(truth), free(cm), free(f);
    return rc;
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
    jprintf(r, n, "{\"epoch\":%d,\"lr\":%.9g,\"train_loss\":%.9g,\"train_acc\":%.9g,"
            "\"train_acc_clean\":%.9g,\"test_loss\":%.9g,\"test_acc\":%.9g,\"grad_norm\":%.9g", e->epoch,
            (double)e->lr, (double)e->train_loss, (double)e->train_acc, (double)e->train_acc_clean,
            (double)e->test_loss, (double)e->test_acc, (double)e->grad_norm);
    if (r->nval) jprintf(r, n, ",\"val_loss\":%.9g,\"val_acc\":%.9g", (double)e->val_loss, (double)e->val_acc);
    jprintf(r, n, "}");
}

const char *run_progress_json(Run *r) {
    size_t n = 0;
    jprintf(r, &n, "{\"epoch\":%d,\"step\":%d,\"steps_per_epoch\":%d,\"epochs\":%d,\"batch\":%d,"
            "\"status\":%d,\"train_size\":%d}", r->epoch, r->step, r->steps_per_epoch, r->cfg.epochs,
            r->graph ? r->ntrain : r->cfg.batch, r->status, r->ntrain);
    /* the running training metrics of the epoch so far (what the page draws live) */
    if (r->step > 0 && r->seen > 0) {
        n--; /* over the closing brace */
        jprintf(r, &n, ",\"train_loss\":%.9g,\"train_acc\":%.9g,\"train_acc_clean\":%.9g}",
                r->loss_sum / r->seen, (double)r->correct / r->seen, (double)r->correct_clean / r->seen);
    }
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

/* where a KG run's graph came from: its subset (hops, max_nodes) and its bundle's manifest */
static void kg_source_json(Run *r, size_t *n) {
    if (r->subset) {
        const SubReport *s = &r->sub;
        int lab = 0;
        for (int i = 0; i < r->kg->n_nodes; i++) lab += r->kg->label[i] >= 0;
        jprintf(r, n, ",\"subset\":{\"hops\":%d,\"max_nodes\":%d,\"seed\":%llu,\"nodes\":%d,\"triples\":%d,"
                "\"labelled\":%d,\"from_labelled\":%d,\"from_hops\":%d,\"from_fill\":%d,\"last_hop\":%d,"
                "\"capped_hop\":%d,\"source_nodes\":%d,\"source_triples\":%d}", s->hops, s->max_nodes,
                (unsigned long long)s->seed, r->kg->n_nodes, r->kg->n_tri, lab, s->n_labelled, s->n_hops, s->n_fill,
                s->last_hop, s->capped_hop, r->src_nodes, r->src_tri);
    }
    if (r->manifest) {
        static const char *const keys[] = {"source", "hops", "max_nodes", "seed", "nodes", "triples", "labelled",
                                           "source_nodes", "source_triples"};
        char file[160], v[80];
        json_escape(r->gname, file, sizeof file);
        jprintf(r, n, ",\"bundle\":{\"file\":\"%s\"", file);
        for (int k = 0; k < (int)(sizeof keys / sizeof keys[0]); k++) {
            manifest_value(r->manifest, keys[k], v, sizeof v);
            jprintf(r, n, ",\"%s\":%s", keys[k], v);
        }
        jprintf(r, n, "}");
    }
}

const char *run_result_json(Run *r) {
    char cfg[8192], canon[4096], summary[2048], msg[1100];
    json_escape(r->message, msg, sizeof msg);
    config_to_json(&r->cfg, cfg, sizeof cfg);
    config_to_string(&r->cfg, canon, sizeof canon);
    if (r->net && r->started) kgnet_summary(r->net, &r->model, summary, sizeof summary);
    else if (r->graph && r->started) gnn_summary(r->gnn, &r->model, summary, sizeof summary);
    else if (r->graph) snprintf(summary, sizeof summary, "%s (not built yet)", r->cfg.model);
    else model_summary(&r->model, summary, sizeof summary);
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
    /* graphs: no pixel normalisation (features are row-normalised), but nodes and edges */
    for (int c = 0; !r->graph && c < r->train_set.c; c++) jprintf(r, &n, "%s%.6f", c ? "," : "", (double)r->norm.mean[c]);
    jprintf(r, &n, "],\"std\":[");
    for (int c = 0; !r->graph && c < r->train_set.c; c++) jprintf(r, &n, "%s%.6f", c ? "," : "", (double)r->norm.std[c]);
    jprintf(r, &n, "]");
    if (r->net && r->started) {
        jprintf(r, &n, ",\"nodes\":%d,\"edges\":%ld,\"relations\":%d,\"triples\":%d", r->kg->n_nodes,
                r->net->g.m - r->kg->n_nodes, r->kg->n_rel, r->kg->n_tri);
        kg_source_json(r, &n);
    }
    else if (r->graph && r->started)
        jprintf(r, &n, ",\"nodes\":%d,\"edges\":%ld,\"features\":%d", r->pg->n, r->gnn->adj.nnz, r->pg->F);
    jprintf(r, &n, "},\"epochs\":[");
    for (int i = 0; i < r->epoch; i++) {
        if (i) jprintf(r, &n, ",");
        epoch_fields(r, &n, &r->hist[i]);
    }
    jprintf(r, &n, "],\"best_test_acc\":%.9g,\"best_epoch\":%d,\"last_test_acc\":%.9g,"
            "\"best_val_epoch\":%d,\"stopped_early\":%s", (double)best, best_epoch, (double)last,
            r->best_val_epoch, r->stopped_early ? "true" : "false");
    if (r->started) {
        int K = r->train_set.classes;
        char lp[4096];
        if (loss_params_json(&r->loss, lp, sizeof lp) == 0) jprintf(r, &n, ",\"loss_params\":%s", lp);
        jprintf(r, &n, ",\"class_names\":[");
        for (int k = 0; k < K; k++) {
            char name[512], esc[1100];
            label_name(r, k, name, sizeof name);
            json_escape(name, esc, sizeof esc);
            jprintf(r, &n, "%s\"%s\"", k ? "," : "", esc);
        }
        if (r->nkept) { /* the dataset's class of each label */
            jprintf(r, &n, "],\"class_ids\":[");
            for (int k = 0; k < K; k++) jprintf(r, &n, "%s%d", k ? "," : "", r->kept[k]);
        }
        jprintf(r, &n, "],\"noise\":{\"type\":\"%s\",\"rate\":%.9g,\"realised_rate\":%.9g,\"matrix\":",
                r->cfg.noise_type, r->cfg.noise, r->noise_rate);
        matrix_json(r, &n, r->noise_counts, K);
        jprintf(r, &n, "},\"imbalance\":\"%s\",\"class_counts\":[", r->cfg.imbalance);
        for (int k = 0; k < K; k++) jprintf(r, &n, "%s%ld", k ? "," : "", r->class_counts[k]);
        jprintf(r, &n, "],\"given_counts\":[");
        for (int k = 0; k < K; k++) jprintf(r, &n, "%s%ld", k ? "," : "", r->given_counts[k]);
        jprintf(r, &n, "]");
    }
    if (r->final_json) jprintf(r, &n, "%s", r->final_json);
    jprintf(r, &n, "}");
    return r->json;
}

/* ------------------------------------------------------------------------- */
/* Gradient check                                                             */

/* the mean loss of the check batch, with the same dropout mask every time */
static float check_loss(Run *r, int B, const Rng *mask, float *dlogits) {
    Rng d = *mask;
    if (dlogits) model_zero_grad(&r->model, B);
    float *logits = model_forward(&r->model, r->x, B, 1, &d);
    return loss_compute(&r->loss, logits, r->y, B, r->train_set.classes, r->probs, r->losses, dlogits, 1.0f);
}

const char *run_gradcheck_json(Run *r) {
    if (!r->started && run_start(r) < 0) return NULL;
    if (r->graph) return graph_gradcheck_json(r);
    Model *m = &r->model;
    int B = r->ntrain < 8 ? r->ntrain : 8;
    const float eps = 1e-3f;
    float *grads = malloc(sizeof(float) * (size_t)m->nparams);
    float *stats = malloc(sizeof(float) * (size_t)(m->nbuffers + 1));
    if (!grads || !stats) {
        free(grads), free(stats);
        nl_fail("out of memory for the gradient check. Hint: use a smaller model.");
        return NULL;
    }
    /* batch-norm running statistics move in every training-mode forward: keep them */
    memcpy(stats, m->buffers, sizeof(float) * (size_t)m->nbuffers);
    Rng mask, pick;
    rng_init(&mask, (uint64_t)r->cfg.seed, STREAM_DROPOUT);
    rng_init(&pick, (uint64_t)r->cfg.seed, STREAM_EVAL);
    fill_batch(r->x, r->y, &r->train_set, &r->norm, r->train_idx, B, 0, 0, NULL);
    check_loss(r, B, &mask, model_dlogits(m));
    model_backward(m, B);
    memcpy(grads, m->grads, sizeof(float) * (size_t)m->nparams);
    size_t n = 0;
    double worst = 0, worst_median = 0;
    jprintf(r, &n, "{\"batch\":%d,\"eps\":%g,\"layers\":[", B, (double)eps);
    int first = 1;
    for (int i = 0; i < m->nlayers; i++) {
        const Layer *l = &m->layers[i];
        if (l->w < 0) continue;
        /* the layer's parameters: weights [w, w + nw) and biases [b, b + nb) */
        long nw = l->kind == L_CONV ? (long)l->cs.OC * l->cs.C * l->cs.KH * l->cs.KW
                : l->kind == L_DENSE ? (long)l->nout * l->nin : l->C;
        long nb = l->b < 0 ? 0 : l->kind == L_CONV ? l->cs.OC : l->kind == L_DENSE ? l->nout : l->C;
        long np = nw + nb;
        /* Float32 central differences carry noise near 1e-4 whatever the true
           gradient, so an error is measured against the larger of the two
           values and 1% of the layer's largest gradient: a zero gradient (the
           bias of a conv before batch norm) then checks as zero, not as noise/0. */
        double gmax = 0;
        for (long k = l->w; k < l->w + nw; k++) gmax = fmax(gmax, fabs(grads[k]));
        for (long k = l->b; k >= 0 && k < l->b + nb; k++) gmax = fmax(gmax, fabs(grads[k]));
        double rel = 0, abs_err = 0, errs[16];
        int checked = 0;
        for (int t = 0; t < 16; t++) {
            long k = t < 12 || nb == 0 ? l->w + (long)rng_below(&pick, (uint32_t)nw) : l->b + (long)rng_below(&pick, (uint32_t)nb);
            float p0 = m->params[k];
            m->params[k] = p0 + eps;
            double lp = check_loss(r, B, &mask, NULL);
            m->params[k] = p0 - eps;
            double lm = check_loss(r, B, &mask, NULL);
            m->params[k] = p0;
            double num = (lp - lm) / (2.0 * (double)eps), ana = grads[k];
            double err = fabs(num - ana), denom = fmax(fmax(fabs(num), fabs(ana)), 0.01 * gmax + 1e-6);
            if (err > abs_err) abs_err = err;
            if (err / denom > rel) rel = err / denom;
            errs[checked++] = err / denom;
        }
        /* the median shows the agreement; the max also catches ReLU and max-pool
           kinks that a +-eps step happens to cross */
        for (int a = 1; a < checked; a++)
            for (int b = a; b > 0 && errs[b] < errs[b - 1]; b--) {
                double t = errs[b];
                errs[b] = errs[b - 1], errs[b - 1] = t;
            }
        double median = (errs[(checked - 1) / 2] + errs[checked / 2]) / 2;
        if (median > worst_median) worst_median = median;
        if (rel > worst) worst = rel;
        jprintf(r, &n, "%s{\"layer\":%d,\"kind\":\"%s\",\"params\":%ld,\"checked\":%d,\"max_rel_err\":%.4g,"
                "\"median_rel_err\":%.4g,\"max_abs_err\":%.4g}", first ? "" : ",", i, layer_kind_name(l->kind), np,
                checked, rel, median, abs_err);
        first = 0;
    }
    jprintf(r, &n, "],\"max_rel_err\":%.4g,\"median_rel_err\":%.4g}", worst, worst_median);
    memcpy(m->buffers, stats, sizeof(float) * (size_t)m->nbuffers);
    free(grads), free(stats);
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
    /* format 2 adds the loss's generator (triplet sampling), without which a
       resumed triplet run drew other triplets; format 1 is still read */
    uint32_t head[5] = {2, (uint32_t)r->model.nparams, (uint32_t)r->model.nbuffers, (uint32_t)r->epoch, 0};
    config_to_string(&r->cfg, canon, sizeof canon);
    head[4] = (uint32_t)strlen(canon);
    put(c, CKPT_MAGIC, 8);
    put(c, head, sizeof head);
    put(c, canon, head[4]);
    put(c, &r->opt.t, sizeof r->opt.t);
    put(c, &r->shuffle_rng, sizeof(Rng));
    put(c, &r->dropout_rng, sizeof(Rng));
    put(c, &r->augment_rng, sizeof(Rng));
    put(c, &r->loss_rng, sizeof(Rng));
    put(c, r->hist, sizeof(EpochStats) * (size_t)r->epoch);
    /* params, then opt_m and opt_v, then buffers: the grads are not state */
    put(c, r->model.params, sizeof(float) * (size_t)r->model.nparams);
    put(c, r->model.opt_m, sizeof(float) * 2 * (size_t)r->model.nparams);
    put(c, r->model.buffers, sizeof(float) * (size_t)r->model.nbuffers);
    put(c, &r->best_val, sizeof r->best_val);
    put(c, &r->best_val_epoch, sizeof r->best_val_epoch);
    if (r->best) put(c, r->best, sizeof(float) * (size_t)(r->model.nparams + r->model.nbuffers));
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
    if (c.short_read || memcmp(magic, CKPT_MAGIC, 8) != 0 || head[0] < 1 || head[0] > 2)
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
    /* params, opt_m, opt_v, buffers, then the best weights of early stopping */
    size_t nbest = r->best ? (size_t)(r->model.nparams + r->model.nbuffers) : 0;
    size_t narena = (size_t)(3 * r->model.nparams + r->model.nbuffers);
    float *arena = malloc(sizeof(float) * (narena + nbest + 1));
    if (!hist || !arena) {
        free(hist), free(arena);
        return nl_fail("out of memory restoring a checkpoint. Hint: free some memory.");
    }
    get(&c, &tmp.opt.t, sizeof tmp.opt.t);
    get(&c, &tmp.shuffle_rng, sizeof(Rng));
    get(&c, &tmp.dropout_rng, sizeof(Rng));
    get(&c, &tmp.augment_rng, sizeof(Rng));
    if (head[0] >= 2) get(&c, &tmp.loss_rng, sizeof(Rng));
    get(&c, hist, sizeof(EpochStats) * head[3]);
    get(&c, arena, sizeof(float) * narena);
    get(&c, &tmp.best_val, sizeof tmp.best_val);
    get(&c, &tmp.best_val_epoch, sizeof tmp.best_val_epoch);
    get(&c, arena + narena, sizeof(float) * nbest);
    if (c.short_read || c.n != len) {
        free(hist), free(arena);
        return nl_fail("the checkpoint is %s (%zu bytes). Hint: start the run from the beginning, "
                       "or resume from an earlier checkpoint.", c.short_read ? "truncated" : "too long", len);
    }
    r->opt.t = tmp.opt.t;
    r->shuffle_rng = tmp.shuffle_rng, r->dropout_rng = tmp.dropout_rng, r->augment_rng = tmp.augment_rng;
    r->loss_rng = tmp.loss_rng;
    memcpy(r->hist, hist, sizeof(EpochStats) * head[3]);
    long np = r->model.nparams;
    memcpy(r->model.params, arena, sizeof(float) * (size_t)np);
    memcpy(r->model.opt_m, arena + np, sizeof(float) * 2 * (size_t)np);
    memcpy(r->model.buffers, arena + 3 * np, sizeof(float) * (size_t)r->model.nbuffers);
    if (nbest) memcpy(r->best, arena + narena, sizeof(float) * nbest);
    r->best_val = tmp.best_val, r->best_val_epoch = tmp.best_val_epoch;
    free(hist), free(arena);
    r->epoch = (int)head[3];
    r->step = 0;
    r->status = r->epoch >= r->cfg.epochs ? RUN_DONE : RUN_EPOCH_END;
    fit_centroids(r);
    if (r->status == RUN_DONE) return finish_run(r);
    return 0;
}

void run_free(Run *r) {
    if (!r) return;
    dataset_free(&r->train_set);
    dataset_free(&r->test_set);
    model_free(&r->model);
    free(r->train_idx), free(r->val_idx), free(r->test_idx), free(r->order);
    free(r->x), free(r->y), free(r->yc), free(r->probs), free(r->losses), free(r->hist), free(r->json);
    free(r->ckpt), free(r->clean), free(r->noise_counts), free(r->class_counts), free(r->given_counts);
    free(r->best), free(r->final_json), free(r->centroids);
    for (int k = 0; k < PL_FILES; k++) free(r->gfile[k]);
    if (r->pg) planetoid_free(r->pg);
    if (r->gnn) gnn_free(r->gnn);
    if (r->net) kgnet_free(r->net);
    if (r->kg) kg_free(r->kg);
    free(r->manifest);
    free(r->pg), free(r->gnn), free(r->net), free(r->kg), free(r->glogits), free(r->gdlogits);
    free(r);
}

/* ------------------------------------------------------------------------- */
/* Graph runs (train.h): Planetoid files in, one full-batch epoch per step    */

/* The model behind a graph run: a Gnn (Planetoid) or a KgNet (knowledge graphs). */
static const float *gforward(Run *r, int train, Rng *rng) {
    if (r->net) return kgnet_forward(r->net, &r->model, train, rng);
    return gnn_forward(r->gnn, &r->model, r->pg->x, train, rng);
}

static void gbackward(Run *r) {
    if (r->net) kgnet_backward(r->net, &r->model);
    else gnn_backward(r->gnn, &r->model);
}

static float *gdlogits(Run *r) { return r->net ? r->net->dlogits : r->gnn->dlogits; }

/* The files of a knowledge graph, by the end of their names: R-GCN N-Triples
   (aifb, mutag) or kgbench CSVs. They sit in gfile[] until run_start. */
static const char *const kg_rgcn_parts[] = {".nt.gz", "trainingSet.tsv", "testSet.tsv", ".nt"};
static const char *const kg_bench_parts[] = {"triples.int.csv", "nodes.int.csv", "relations.int.csv",
                                             "training.int.csv", "validation.int.csv", "testing.int.csv",
                                             "triples.int.csv.gz"};
enum { KB_TRIPLES, KB_NODES, KB_RELATIONS, KB_TRAIN, KB_VALID, KB_TEST };

static int ends_with(const char *s, const char *end) {
    size_t n = strlen(s), k = strlen(end);
    return n >= k && !strcmp(s + n - k, end);
}

static int is_rgcn_kg(const char *dataset) { return !strcmp(dataset, "aifb") || !strcmp(dataset, "mutag"); }

/* a copy of graph file `part`, kept until run_start reads it (the caller's buffer may go) */
static int keep_file(Run *r, int part, const uint8_t *buf, size_t len, const char *name) {
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return nl_fail("%s: out of memory for %zu bytes. Hint: free some memory.", name, len);
    if (len) memcpy(copy, buf, len);
    free(r->gfile[part]);
    r->gfile[part] = copy, r->glen[part] = len;
    return 0;
}

static int kg_add_file(Run *r, const uint8_t *buf, size_t len, const char *name) {
    const char *ds = r->cfg.dataset;
    int part = -1;
    if (!strcmp(ds, "bundle")) { /* one file, under any name: its magic says what it is */
        if (!kg_is_bundle(buf, len))
            return nl_fail("%s is not a graph bundle (it does not start with %s, %zu bytes). Hint: dataset=bundle "
                           "trains on a file written by `npx noisylab graph-subset ... --out FILE.nlkg`.",
                           name, KGB_MAGIC, len);
        if (r->gfile[0])
            return nl_fail("%s: a bundle was already added (%s); a bundle run reads one file. Hint: add one bundle.",
                           name, r->gname);
        /* the file name without its folder: the result JSON holds no machine's path, and the
           CLI (a path) and the page (a file name) report the same bits */
        const char *base = name;
        for (const char *p = name; *p; p++)
            if (*p == '/' || *p == '\\') base = p + 1;
        snprintf(r->gname, sizeof r->gname, "%s", base);
        return keep_file(r, 0, buf, len, name);
    }
    if (is_rgcn_kg(ds)) {
        for (int k = 0; k < 4; k++)
            if (ends_with(name, kg_rgcn_parts[k])) part = k == 3 ? 0 : k;
    } else {
        for (int k = 0; k < 7; k++)
            if (ends_with(name, kg_bench_parts[k])) part = k == 6 ? KB_TRIPLES : k;
    }
    if (part < 0) {
        if (is_rgcn_kg(ds))
            return nl_fail("%s is not one of the files of '%s'. Hint: pass %s_stripped.nt.gz, trainingSet.tsv "
                           "and testSet.tsv under their own names.", name, ds, ds);
        return nl_fail("%s is not one of the kgbench files of '%s'. Hint: pass triples.int.csv(.gz), "
                       "nodes.int.csv, relations.int.csv, training.int.csv, validation.int.csv and "
                       "testing.int.csv under their own names.", name, ds);
    }
    return keep_file(r, part, buf, len, name);
}

static int graph_add_file(Run *r, int split, const uint8_t *buf, size_t len, const char *name) {
    if (split != 0)
        return nl_fail("%s: graph files all go to split 0 (a graph has no separate test file). "
                       "Hint: this is a bug in the caller.", name);
    if (config_is_kg(r->cfg.dataset)) return kg_add_file(r, buf, len, name);
    /* the part is what follows "ind.<dataset>." at the end of the name */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "ind.%s.", r->cfg.dataset);
    const char *at = NULL;
    for (const char *p = strstr(name, prefix); p; p = strstr(p + 1, prefix)) at = p;
    int part = -1;
    for (int k = 0; at && k < PL_FILES; k++)
        if (!strcmp(at + strlen(prefix), planetoid_parts[k])) part = k;
    if (part < 0)
        return nl_fail("%s is not one of the Planetoid files of '%s'. Hint: pass the eight files "
                       "ind.%s.{x,y,tx,ty,allx,ally,graph,test.index} under their own names.",
                       name, r->cfg.dataset, r->cfg.dataset);
    return keep_file(r, part, buf, len, name);
}

static int *copy_ids(const int *src, int n) {
    int *p = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (p && n > 0) memcpy(p, src, sizeof(int) * (size_t)n);
    return p;
}

/* node ids of one split, ascending */
static int *split_ids(const KG *g, int split, int *count) {
    int *ids = malloc(sizeof(int) * (size_t)(g->n_split[split] + 1)), n = 0;
    for (int i = 0; ids && i < g->n_nodes; i++)
        if (g->split[i] == split && g->label[i] >= 0) ids[n++] = i;
    *count = n;
    return ids;
}

/* config keys hops, max_nodes: r->kg becomes its k-hop subgraph (train.h). The seed's
   STREAM_SUBGRAPH, as graph-subset: the same string cuts the same subgraph everywhere. */
static int kg_subset(Run *r) {
    const Config *c = &r->cfg;
    KG *g = r->kg, sub;
    int L = 0;
    for (int i = 0; i < g->n_nodes; i++) L += g->label[i] >= 0;
    if (c->max_nodes < L)
        return nl_fail("config key 'max_nodes': %d is smaller than the %d labelled nodes of dataset=%s, which a "
                       "subset always keeps (dropping some would change the task). Hint: write max_nodes=%d or "
                       "more, or max_nodes=0 for the whole graph.", c->max_nodes, L, c->dataset, L);
    int *orig = NULL;
    if (kg_subgraph(g, c->hops, c->max_nodes, (uint64_t)c->seed, &sub, &orig, NULL, &r->sub) < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", nl_error());
        return nl_fail("dataset=%s with hops=%d&max_nodes=%d: %s", c->dataset, c->hops, c->max_nodes, why);
    }
    free(orig); /* the run needs no mapping back: its result counts nodes, not ids */
    r->subset = 1, r->src_nodes = g->n_nodes, r->src_tri = g->n_tri;
    kg_free(g);
    *g = sub;
    return 0;
}

/* the value of "key" in a flat JSON object (the bundle's manifest) as a JSON value: a
   whole number, or a string of safe characters (quoted); "null" when absent or anything
   else, so a hand-edited manifest cannot break the result JSON */
static void manifest_value(const char *m, const char *key, char *out, size_t cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = m ? strstr(m, pat) : NULL;
    snprintf(out, cap, "null");
    if (!p) return;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        for (p++; p[n] && p[n] != '"' && n < 63; n++) {
            char ch = p[n];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '_' || ch == '.'))
                return;
        }
        if (p[n] == '"') snprintf(out, cap, "\"%.*s\"", (int)n, p);
    } else {
        for (; (p[n] >= '0' && p[n] <= '9') && n < 20; n++) {}
        if (n > 0) snprintf(out, cap, "%.*s", (int)n, p);
    }
}

/* reads the KG from its files and builds the rgcn/mrgcn model; sets N, K and the splits */
static int kg_start(Run *r, int *N, int *K) {
    Config *c = &r->cfg;
    const char *ds = c->dataset;
    int rgcn_files = is_rgcn_kg(ds), bundle = !strcmp(ds, "bundle");
    static const char *const rgcn_names[] = {"<dataset>_stripped.nt.gz", "trainingSet.tsv", "testSet.tsv"};
    if (bundle && !r->gfile[0])
        return nl_fail("dataset 'bundle': no bundle file was added. Hint: CLI: `npx noisylab train \"dataset=bundle&...\" "
                       "--graph FILE.nlkg` (a file written by graph-subset); page: pick the bundle file before Run.");
    for (int k = 0; k < (rgcn_files ? 3 : 6) && !bundle; k++) {
        if (r->gfile[k] || (!rgcn_files && k == KB_VALID)) continue;
        char want[64];
        if (rgcn_files && k == 0) snprintf(want, sizeof want, "%s_stripped.nt.gz", ds);
        else snprintf(want, sizeof want, "%s", rgcn_files ? rgcn_names[k] : kg_bench_parts[k]);
        return nl_fail("dataset '%s': %s was not added (a knowledge-graph run needs all the dataset's files). "
                       "Hint: put them in ../shared/datasets/%s/ or set NOISYLAB_DATA_DIR to the folder that "
                       "holds %s/.", ds, want, ds, ds);
    }
    r->kg = calloc(1, sizeof *r->kg);
    r->net = calloc(1, sizeof *r->net);
    if (!r->kg || !r->net) return nl_fail("out of memory. Hint: free some memory.");
    KgFile f[6];
    for (int k = 0; k < 6; k++) f[k] = (KgFile){r->gfile[k], r->glen[k], NULL};
    int rc;
    if (bundle) {
        rc = kg_bundle_read(r->gfile[0], r->glen[0], r->gname, r->kg, NULL, &r->manifest);
    } else if (rgcn_files) {
        const char *const *drop;
        const char *ec, *lc;
        int nd;
        char nt[64];
        snprintf(nt, sizeof nt, "%s_stripped.nt.gz", ds);
        kg_rgcn_info(ds, &drop, &nd, &ec, &lc);
        f[0].what = nt, f[1].what = "trainingSet.tsv", f[2].what = "testSet.tsv";
        KgFile none = {NULL, 0, "validation"};
        rc = kg_read_ntriples(r->kg, f[0], drop, nd, f[1], none, f[2], ec, lc);
    } else {
        for (int k = 0; k < 6; k++) f[k].what = kg_bench_parts[k];
        rc = kg_read_kgbench(r->kg, f[KB_TRIPLES], f[KB_NODES], f[KB_RELATIONS], f[KB_TRAIN], f[KB_VALID], f[KB_TEST]);
    }
    for (int k = 0; k < PL_FILES; k++) free(r->gfile[k]), r->gfile[k] = NULL;
    if (rc < 0) return -1;
    if (c->max_nodes > 0 && kg_subset(r) < 0) return -1;
    KG *g = r->kg;
    *N = g->n_nodes, *K = g->n_classes;
    if (*K > LOSS_MAX_CLASSES) return nl_fail("dataset '%s' has %d classes; at most %d are supported. Hint: "
                                              "use a dataset with fewer classes.", ds, *K, LOSS_MAX_CLASSES);
    r->train_idx = split_ids(g, KG_TRAIN, &r->ntrain);
    r->val_idx = split_ids(g, KG_VALID, &r->nval);
    r->test_idx = split_ids(g, KG_TEST, &r->ntest);
    r->train_set.labels = copy_ids(g->label, *N);
    if (!r->train_idx || !r->val_idx || !r->test_idx || !r->train_set.labels)
        return nl_fail("out of memory. Hint: free some memory.");
    if (r->ntrain < 1) return nl_fail("dataset '%s' has no labelled training node. Hint: check its training file.", ds);
    if (c->patience > 0 && r->nval == 0)
        return nl_fail("config key 'patience': early stopping watches the validation accuracy, but dataset '%s' "
                       "has no validation split (the R-GCN protocol reports the last epoch). Hint: set patience=0.", ds);
    KgFeatures ft, *fp = NULL;
    memset(&ft, 0, sizeof ft);
    if (!strcmp(c->model, "mrgcn")) {
        if (kg_featurise(g, 64, &ft) < 0) return -1;
        fp = &ft;
    }
    rc = kgnet_build(r->net, &r->model, c, g, fp, *K);
    if (fp) kg_features_free(fp);
    return rc;
}

static int graph_start(Run *r) {
    Config *c = &r->cfg;
    int N, K, kg = config_is_kg(c->dataset);
    Planetoid *g = NULL;
    if (kg) {
        if (kg_start(r, &N, &K) < 0) return -1;
    } else {
        for (int k = 0; k < PL_FILES; k++)
            if (!r->gfile[k])
                return nl_fail("dataset '%s': ind.%s.%s was not added (a graph run needs all eight "
                               "Planetoid files). Hint: put them in ../shared/datasets/%s/ or set "
                               "NOISYLAB_DATA_DIR to the folder that holds %s/.", c->dataset, c->dataset,
                               planetoid_parts[k], c->dataset, c->dataset);
        r->pg = calloc(1, sizeof *r->pg);
        r->gnn = calloc(1, sizeof *r->gnn);
        if (!r->pg || !r->gnn) return nl_fail("out of memory. Hint: free some memory.");
        const uint8_t *files[PL_FILES];
        for (int k = 0; k < PL_FILES; k++) files[k] = r->gfile[k];
        if (planetoid_load(r->pg, c->dataset, files, r->glen) < 0) return -1;
        for (int k = 0; k < PL_FILES; k++) free(r->gfile[k]), r->gfile[k] = NULL;
        g = r->pg;
        N = g->n, K = g->K;
        r->train_set.labels = copy_ids(g->label, N);
        r->train_idx = copy_ids(g->train, g->ntrain), r->ntrain = g->ntrain;
        r->val_idx = copy_ids(g->val, g->nval), r->nval = g->nval;
        r->test_idx = copy_ids(g->test, g->ntest), r->ntest = g->ntest;
        if (!r->train_set.labels || !r->train_idx || !r->val_idx || !r->test_idx)
            return nl_fail("out of memory. Hint: free some memory.");
        if (K > LOSS_MAX_CLASSES) return nl_fail("dataset '%s' has %d classes. Hint: this is a bug.", c->dataset, K);
    }
    /* the nodes as a "dataset" of N items without pixels: labels, classes, feature count
       (a KG: 1, its nodes are featureless or carry their own literal features) */
    Dataset *tr = &r->train_set;
    tr->n = N, tr->c = g ? g->F : 1, tr->h = tr->w = 1, tr->classes = K;
    snprintf(tr->name, sizeof tr->name, "%s", c->dataset);
    r->have_train = r->have_test = 1;
    /* the same order as images: imbalance, then noise (unlabelled nodes are in no subset) */
    if (apply_imbalance(r) < 0 || apply_noise(r) < 0) return -1;
    Rng init;
    rng_init(&init, (uint64_t)c->seed, STREAM_INIT);
    if (kg) {
        kgnet_init(r->net, &r->model, &init);
    } else {
        if (gnn_build(r->gnn, &r->model, c, N, g->src, g->dst, g->m, g->F, K) < 0) return -1;
        /* the bag-of-words features are ~1% non-zero: layer 1 reads them sparse */
        if (gnn_set_sparse_input(r->gnn, g->x) < 0) return -1;
        free(g->x), g->x = NULL; /* N x F floats (49 MB for Citeseer) that nothing reads any more */
        gnn_init(r->gnn, &r->model, &init);
    }
    optim_from_config(&r->opt, c);
    /* first-layer-only decay: gcn, sage (tkipf/gcn) and rgcn, mrgcn (tkipf/relational-gcn) */
    if (kg || r->gnn->kind != GNN_GAT) r->wd_first = r->opt.wd, r->opt.wd = 0;
    if (loss_set_class_counts(&r->loss, r->given_counts, K) < 0) return -1;
    rng_init(&r->loss_rng, (uint64_t)c->seed, STREAM_LOSS);
    r->loss.rng = &r->loss_rng;
    rng_init(&r->shuffle_rng, (uint64_t)c->seed, STREAM_SHUFFLE);
    rng_init(&r->dropout_rng, (uint64_t)c->seed, STREAM_DROPOUT);
    rng_init(&r->augment_rng, (uint64_t)c->seed, STREAM_AUGMENT);
    r->y = malloc(sizeof(int) * (size_t)N);
    r->yc = malloc(sizeof(int) * (size_t)N);
    r->probs = malloc(sizeof(float) * (size_t)N * K);
    r->losses = malloc(sizeof(float) * (size_t)N);
    r->glogits = malloc(sizeof(float) * (size_t)N * K);
    r->gdlogits = malloc(sizeof(float) * (size_t)N * K);
    r->hist = calloc((size_t)c->epochs, sizeof(EpochStats));
    if (c->patience > 0) r->best = malloc(sizeof(float) * (size_t)(r->model.nparams + 1));
    if (r->loss.kind == LOSS_TRIPLET) r->centroids = malloc(sizeof(float) * (size_t)K * K);
    if (!r->y || !r->yc || !r->probs || !r->losses || !r->glogits || !r->gdlogits || !r->hist ||
        (c->patience > 0 && !r->best) || (r->loss.kind == LOSS_TRIPLET && !r->centroids))
        return nl_fail("out of memory. Hint: free some memory.");
    r->steps_per_epoch = 1;
    r->started = 1;
    fit_centroids(r);
    return 0;
}

/* the rows of `logits` (N x K) of nodes idx[0..n) into r->glogits, their given labels into r->y */
static void gather(Run *r, const float *logits, const int *idx, int n) {
    int K = r->train_set.classes;
    for (int i = 0; i < n; i++) {
        memcpy(r->glogits + (long)i * K, logits + (long)idx[i] * K, sizeof(float) * (size_t)K);
        r->y[i] = r->train_set.labels[idx[i]];
        r->yc[i] = r->clean[idx[i]];
    }
}

/* mean loss and accuracy of nodes idx[0..n) from eval-mode logits; evaluation
   draws triplets from its own generator, as for images */
static void subset_metrics(Run *r, const float *logits, const int *idx, int n, float *loss, float *acc) {
    int K = r->train_set.classes;
    if (n == 0) {
        *loss = *acc = 0;
        return;
    }
    gather(r, logits, idx, n);
    Rng eval_rng, *train_rng = r->loss.rng;
    rng_init(&eval_rng, (uint64_t)r->cfg.seed, STREAM_EVAL);
    r->loss.rng = &eval_rng;
    *loss = loss_compute(&r->loss, r->glogits, r->y, n, K, r->probs, r->losses, NULL, 0);
    r->loss.rng = train_rng;
    *acc = (float)count_correct(r, r->glogits, r->y, n) / n;
}

static void graph_evaluate(Run *r, int split, float *loss, float *acc) {
    const float *logits = gforward(r, 0, NULL);
    if (split == 2) subset_metrics(r, logits, r->val_idx, r->nval, loss, acc);
    else subset_metrics(r, logits, r->test_idx, r->ntest, loss, acc);
}

static void graph_fit_centroids(Run *r) {
    int K = r->train_set.classes;
    const float *z = gforward(r, 0, NULL);
    double *sum = calloc((size_t)K * K, sizeof(double));
    long *count = calloc((size_t)K, sizeof(long));
    if (sum && count) {
        for (int i = 0; i < r->ntrain; i++) {
            int j = r->train_idx[i], y = r->train_set.labels[j];
            count[y]++;
            for (int k = 0; k < K; k++) sum[y * K + k] += z[(long)j * K + k];
        }
        for (int c = 0; c < K; c++)
            for (int k = 0; k < K; k++) r->centroids[c * K + k] = count[c] ? (float)(sum[c * K + k] / count[c]) : INFINITY;
    }
    free(sum), free(count);
}

static int graph_step(Run *r) {
    Config *c = &r->cfg;
    Model *m = &r->model;
    int K = r->train_set.classes, n = r->ntrain, N = r->train_set.n;
    float lr = lr_at_epoch(c, r->epoch);
    memset(m->grads, 0, sizeof(float) * (size_t)m->nparams);
    const float *logits = gforward(r, 1, &r->dropout_rng);
    /* the loss sees the training nodes only: their rows of the logits, their given labels */
    gather(r, logits, r->train_idx, n);
    memset(r->gdlogits, 0, sizeof(float) * (size_t)n * K);
    float loss = loss_compute(&r->loss, r->glogits, r->y, n, K, r->probs, r->losses, r->gdlogits, 1.0f);
    if (!isfinite(loss)) return diverged(r, "the loss", loss, lr);
    float *dl = gdlogits(r);
    memset(dl, 0, sizeof(float) * (size_t)N * K);
    for (int i = 0; i < n; i++)
        memcpy(dl + (long)r->train_idx[i] * K, r->gdlogits + (long)i * K, sizeof(float) * (size_t)K);
    gbackward(r);
    long first_end = r->net ? r->net->first_end : r->gnn->first_end;
    for (long k = 0; k < first_end; k++) m->grads[k] += r->wd_first * m->params[k];
    float gnorm = clip_grad_norm(m, (float)c->clip);
    if (!isfinite(gnorm)) return diverged(r, "the gradient norm", gnorm, lr);
    optim_step(&r->opt, m, lr);
    EpochStats *e = &r->hist[r->epoch];
    e->epoch = r->epoch + 1;
    e->lr = lr;
    e->train_loss = loss;
    e->train_acc = (float)count_correct(r, r->glogits, r->y, n) / n;
    e->train_acc_clean = (float)count_correct(r, r->glogits, r->yc, n) / n;
    e->grad_norm = gnorm;
    fit_centroids(r);
    /* one eval-mode forward serves validation and test */
    const float *ev = gforward(r, 0, NULL);
    if (r->nval) subset_metrics(r, ev, r->val_idx, r->nval, &e->val_loss, &e->val_acc);
    subset_metrics(r, ev, r->test_idx, r->ntest, &e->test_loss, &e->test_acc);
    r->epoch++;
    if (!isfinite(e->test_loss) && e->test_acc <= 1.0f / K + 1e-6f) {
        r->status = RUN_DIVERGED;
        snprintf(r->message, sizeof r->message,
                 "training diverged in epoch %d: the test loss is not finite. Hint: lower lr "
                 "(now %g), or set clip=5.", e->epoch, (double)lr);
        return r->status;
    }
    r->step = 0;
    r->status = r->epoch >= c->epochs ? RUN_DONE : RUN_EPOCH_END;
    if (r->nval) watch_validation(r, e);
    if (r->status == RUN_DONE && finish_run(r) < 0) return -1;
    return r->status;
}

/* The gradient check of a graph run: the loss of the training nodes (full
   batch, the same dropout masks every time) against central differences of
   16 sampled entries of every parameter tensor, with the error measure of
   run_gradcheck_json. Weight decay is not part of the checked loss. */
static float graph_check_loss(Run *r, const Rng *mask, int backward) {
    Rng d = *mask;
    int K = r->train_set.classes, n = r->ntrain;
    const float *logits = gforward(r, 1, &d);
    gather(r, logits, r->train_idx, n);
    if (!backward) return loss_compute(&r->loss, r->glogits, r->y, n, K, r->probs, r->losses, NULL, 0);
    memset(r->gdlogits, 0, sizeof(float) * (size_t)n * K);
    float loss = loss_compute(&r->loss, r->glogits, r->y, n, K, r->probs, r->losses, r->gdlogits, 1.0f);
    float *dl = gdlogits(r);
    memset(dl, 0, sizeof(float) * (size_t)r->train_set.n * K);
    for (int i = 0; i < n; i++)
        memcpy(dl + (long)r->train_idx[i] * K, r->gdlogits + (long)i * K, sizeof(float) * (size_t)K);
    memset(r->model.grads, 0, sizeof(float) * (size_t)r->model.nparams);
    gbackward(r);
    return loss;
}

static const char *graph_gradcheck_json(Run *r) {
    Model *m = &r->model;
    const float eps = 1e-3f;
    /* the parameter tensors in arena order: name, layer, offset; the end of each is the next offset */
    struct { const char *name; int layer; long off; } t[2 * FT_N + 8];
    int nt = 0;
    if (r->net) {
        const KgNet *k = r->net;
        long offs[] = {k->emb, k->w1, k->c1, k->b1, k->w2, k->c2, k->b2};
        const char *names[] = {"embedding", "weight", "comp", "bias", "weight", "comp", "bias"};
        for (int i = 0; i < 7; i++)
            if (offs[i] >= 0) t[nt].name = names[i], t[nt].layer = i < 4 ? 1 : 2, t[nt].off = offs[i], nt++;
        for (int f = 1; f < FT_N; f++)
            if (k->proj[f] >= 0) {
                t[nt].name = "proj", t[nt].layer = 0, t[nt++].off = k->proj[f];
                t[nt].name = "proj_bias", t[nt].layer = 0, t[nt++].off = k->pbias[f];
            }
    } else {
        Gnn *g = r->gnn;
        long offs[] = {g->w1, g->w1n, g->as1, g->ad1, g->b1, g->w2, g->w2n, g->as2, g->ad2, g->b2};
        const char *names[] = {"weight", "weight_neigh", "att_src", "att_dst", "bias",
                               "weight", "weight_neigh", "att_src", "att_dst", "bias"};
        for (int k = 0; k < 10; k++)
            if (offs[k] >= 0) t[nt].name = names[k], t[nt].layer = k < 5 ? 1 : 2, t[nt].off = offs[k], nt++;
    }
    float *grads = malloc(sizeof(float) * (size_t)m->nparams);
    if (!grads) {
        nl_fail("out of memory for the gradient check. Hint: use a smaller model.");
        return NULL;
    }
    Rng mask, pick;
    rng_init(&mask, (uint64_t)r->cfg.seed, STREAM_DROPOUT);
    rng_init(&pick, (uint64_t)r->cfg.seed, STREAM_EVAL);
    Rng *loss_rng = r->loss.rng, fixed = *r->loss.rng;
    r->loss.rng = &fixed; /* triplet: the same triplets in every evaluation */
    Rng keep = fixed;
    graph_check_loss(r, &mask, 1);
    memcpy(grads, m->grads, sizeof(float) * (size_t)m->nparams);
    size_t n = 0;
    double worst = 0, worst_median = 0;
    jprintf(r, &n, "{\"batch\":%d,\"eps\":%g,\"layers\":[", r->ntrain, (double)eps);
    for (int i = 0; i < nt; i++) {
        long start = t[i].off;
        long end = m->nparams;
        for (int j = 0; j < nt; j++)
            if (t[j].off > start && t[j].off < end) end = t[j].off;
        long np = end - start;
        double gmax = 0, rel = 0, abs_err = 0, errs[16];
        for (long k = start; k < end; k++) gmax = fmax(gmax, fabs(grads[k]));
        int checked = 0;
        for (int s = 0; s < 16; s++) {
            long k = start + (long)rng_below(&pick, (uint32_t)np);
            float p0 = m->params[k];
            m->params[k] = p0 + eps;
            fixed = keep;
            double lp = graph_check_loss(r, &mask, 0);
            m->params[k] = p0 - eps;
            fixed = keep;
            double lm = graph_check_loss(r, &mask, 0);
            m->params[k] = p0;
            double num = (lp - lm) / (2.0 * (double)eps), ana = grads[k];
            double err = fabs(num - ana), denom = fmax(fmax(fabs(num), fabs(ana)), 0.01 * gmax + 1e-6);
            abs_err = fmax(abs_err, err);
            rel = fmax(rel, err / denom);
            errs[checked++] = err / denom;
        }
        for (int a = 1; a < checked; a++)
            for (int b = a; b > 0 && errs[b] < errs[b - 1]; b--) {
                double x = errs[b];
                errs[b] = errs[b - 1], errs[b - 1] = x;
            }
        double median = (errs[(checked - 1) / 2] + errs[checked / 2]) / 2;
        worst = fmax(worst, rel), worst_median = fmax(worst_median, median);
        jprintf(r, &n, "%s{\"layer\":%d,\"kind\":\"%s.%s\",\"params\":%ld,\"checked\":%d,\"max_rel_err\":%.4g,"
                "\"median_rel_err\":%.4g,\"max_abs_err\":%.4g}", i ? "," : "", t[i].layer, r->cfg.model,
                t[i].name, np, checked, rel, median, abs_err);
    }
    jprintf(r, &n, "],\"max_rel_err\":%.4g,\"median_rel_err\":%.4g}", worst, worst_median);
    r->loss.rng = loss_rng;
    memset(m->grads, 0, sizeof(float) * (size_t)m->nparams);
    free(grads);
    return r->json;
}
