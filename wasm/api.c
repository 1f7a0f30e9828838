/* api.c: the C API (noisylab.h) over the core. Thin on purpose: all logic is in core/. */
#include "noisylab.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "../core/err.h"
#include "../core/gemm.h"
#include "../core/loss.h"
#include "../core/train.h"

struct NlRun {
    Run *run;
};

const char *nl_version(void) { return "noisylab 0.1.0 (config v1)"; }
const char *nl_isa(void) { return sgemm_isa(); }
const char *nl_last_error(void) { return nl_error(); }

const char *nl_config_normalize(const char *s) {
    static char buf[4096];
    Config c;
    if (config_parse(&c, s) < 0 || config_to_string(&c, buf, sizeof buf) < 0) return NULL;
    return buf;
}

const char *nl_config_json(const char *s) {
    static char buf[8192];
    Config c;
    if (config_parse(&c, s) < 0 || config_to_json(&c, buf, sizeof buf) < 0) return NULL;
    return buf;
}

const char *nl_config_schema(void) { return config_schema_json(); }
const char *nl_config_presets(void) { return config_presets_json(); }

NlRun *nl_run_new(const char *config) {
    Run *r = run_new(config);
    if (!r) return NULL;
    NlRun *h = malloc(sizeof *h);
    if (!h) {
        run_free(r);
        nl_fail("out of memory. Hint: close other tabs or programs.");
        return NULL;
    }
    h->run = r;
    return h;
}

int nl_run_add_shard(NlRun *r, int split, const uint8_t *bytes, uint32_t len, const char *name) {
    return run_add_shard(r->run, split, bytes, len, name ? name : "shard");
}

int nl_run_start(NlRun *r) { return run_start(r->run); }
int nl_run_step(NlRun *r, int max_steps) { return run_step(r->run, max_steps); }
const char *nl_run_progress_json(NlRun *r) { return run_progress_json(r->run); }
const char *nl_run_epoch_json(NlRun *r, int epoch) {
    return run_epoch_json(r->run, epoch < 0 ? r->run->epoch : epoch);
}
const char *nl_run_result_json(NlRun *r) { return run_result_json(r->run); }

const char *nl_run_gradcheck_json(NlRun *r) { return run_gradcheck_json(r->run); }

const uint8_t *nl_run_checkpoint(NlRun *r, uint32_t *len) {
    size_t n = 0;
    const uint8_t *p = run_checkpoint(r->run, &n);
    *len = (uint32_t)n;
    return p;
}

int nl_run_restore(NlRun *r, const uint8_t *bytes, uint32_t len) { return run_restore(r->run, bytes, len); }

void nl_run_free(NlRun *r) {
    if (!r) return;
    run_free(r->run);
    free(r);
}

int nl_loss_eval(const char *params, const float *logits, const int32_t *labels, int B, int K,
                 float *grad, float *loss, const int32_t *counts, int ncounts, uint32_t seed) {
    Config c;
    static Loss l; /* holds the class weights: too big for the WASM stack */
    if (config_parse(&c, params) < 0 || loss_from_config(&l, &c) < 0) return -1;
    if (B < 1 || K < 2)
        return nl_fail("loss: need at least 1 sample and 2 classes (got %d x %d). Hint: pass "
                       "logits as a non-empty list of rows.", B, K);
    for (int b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] >= K)
            return nl_fail("loss: label %d of sample %d is outside 0..%d. Hint: labels are class "
                           "indices of the logits' columns.", (int)labels[b], b, K - 1);
    if (counts && ncounts > 0) {
        if (ncounts != K)
            return nl_fail("loss: %d class counts for logits of %d classes. Hint: pass one count "
                           "per class (--class-counts n1,...,n%d).", ncounts, K, K);
        long lc[LOSS_MAX_CLASSES];
        for (int k = 0; k < K && k < LOSS_MAX_CLASSES; k++) lc[k] = counts[k];
        if (loss_set_class_counts(&l, lc, K) < 0) return -1;
    }
    Rng rng;
    rng_init(&rng, seed, STREAM_LOSS);
    l.rng = &rng;
    float *probs = malloc(sizeof(float) * (size_t)B * K), *losses = malloc(sizeof(float) * (size_t)B);
    int *lab = malloc(sizeof(int) * (size_t)B);
    if (!probs || !losses || !lab) {
        free(probs), free(losses), free(lab);
        return nl_fail("loss: out of memory. Hint: pass a smaller batch.");
    }
    for (int b = 0; b < B; b++) lab[b] = labels[b];
    memset(grad, 0, sizeof(float) * (size_t)B * K);
    *loss = loss_compute(&l, logits, lab, B, K, probs, losses, grad, 1.0f);
    free(probs), free(losses), free(lab);
    return isnan(*loss) ? -1 : 0;
}

const char *nl_loss_params(const char *params) {
    static char buf[LOSS_MAX_CLASSES * 16 + 256];
    static Loss l;
    Config c;
    if (config_parse(&c, params) < 0 || loss_from_config(&l, &c) < 0 ||
        loss_params_json(&l, buf, sizeof buf) < 0)
        return NULL;
    return buf;
}
