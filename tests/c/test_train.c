/* test_train.c: whole runs through core/train.h: checkpoints of every epoch
   that resume bit-identically, the refusals of damaged or foreign checkpoints,
   and class subsets (classes=...) with their composition with sizes,
   imbalance and noise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "noise.h"
#include "train.h"

static char *dup_str(const char *s) {
    char *d = malloc(strlen(s) + 1);
    if (d) memcpy(d, s, strlen(s) + 1);
    return d;
}

/* runs to the end; returns the result JSON (caller frees) */
static char *finish(Run *r) {
    int st;
    while ((st = run_step(r, 50)) == RUN_TRAINING || st == RUN_EPOCH_END) {}
    return dup_str(run_result_json(r));
}

static int a_epochs(const char *cfg) {
    Config c;
    config_parse(&c, cfg);
    return c.epochs;
}

static void test_checkpoint(void) {
    const char *cfg = "train=300&test=100&epochs=3&model=cnn-small&mult=0.5&dropout=0.2&aug=crop+flip&batch=32&opt=adam&lr=0.002";
    Run *a = run_new(cfg);
    char *straight = finish(a);
    run_free(a);

    /* one epoch, checkpoint, then a fresh run of the same config restores and finishes */
    Run *b = run_new(cfg);
    int st;
    while ((st = run_step(b, 7)) == RUN_TRAINING) {}
    CHECK(st == RUN_EPOCH_END && b->epoch == 1, "first epoch ends (status %d)", st);
    size_t n = 0;
    const uint8_t *p = run_checkpoint(b, &n);
    CHECK(p && n > 1000, "checkpoint of %zu bytes", n);
    uint8_t *ck = malloc(n);
    memcpy(ck, p, n);
    run_free(b);

    Run *c = run_new(cfg);
    CHECK(run_restore(c, ck, n) == 0, "restore: %s", nl_error());
    CHECK(c->epoch == 1, "restored at epoch %d", c->epoch);
    char *resumed = finish(c);
    CHECK(straight && resumed && strcmp(straight, resumed) == 0, "a resumed run equals one that never stopped");
    run_free(c);

    /* mid-epoch: refused, with a hint */
    Run *d = run_new(cfg);
    run_step(d, 3);
    CHECK(run_checkpoint(d, &n) == NULL && strstr(nl_error(), "between epochs") && strstr(nl_error(), "Hint:"),
          "mid-epoch checkpoint refused: %s", nl_error());
    run_free(d);

    /* every truncation, a flipped magic and a foreign config are refused; the run stays usable */
    Run *e = run_new(cfg);
    int refused = 1;
    for (size_t cut = 0; cut < n; cut += (cut < 64 ? 1 : 997))
        refused &= run_restore(e, ck, cut) < 0 && strstr(nl_error(), "Hint:") != NULL;
    CHECK(refused, "every truncated checkpoint is refused with a hint");
    ck[0] ^= 0xff;
    CHECK(run_restore(e, ck, n) < 0 && strstr(nl_error(), "not a noisylab checkpoint"), "bad magic: %s", nl_error());
    ck[0] ^= 0xff;
    char *fresh = finish(e);
    CHECK(fresh && strcmp(fresh, straight) == 0, "refused restores leave the run untouched");
    run_free(e);
    Run *f = run_new("train=300&test=100&epochs=3&model=cnn-small&mult=0.5&seed=9");
    CHECK(run_restore(f, ck, n) < 0 && strstr(nl_error(), "another config"), "foreign config: %s", nl_error());
    run_free(f);
    free(ck), free(straight), free(resumed), free(fresh);
}

/* a checkpoint of every epoch: restoring the one of epoch e and finishing gives
   the metrics of the run that never stopped (the page resumes from any of them);
   triplet too, whose sampling generator is part of the checkpoint */
static void test_checkpoint_every_epoch(void) {
    const char *cfgs[] = {"train=200&test=60&epochs=4&model=mlp&width=32&dropout=0.3&batch=32&tsne=0&noise=0.2",
                          "train=200&test=60&epochs=3&model=mlp&width=32&loss=triplet&batch=32&tsne=0"};
    for (int t = 0; t < 2; t++) {
        Run *a = run_new(cfgs[t]);
        uint8_t *ck[8] = {0};
        size_t len[8] = {0};
        int st, e = 0;
        while ((st = run_step(a, 50)) == RUN_TRAINING || st == RUN_EPOCH_END) {
            if (st != RUN_EPOCH_END) continue;
            const uint8_t *p = run_checkpoint(a, &len[e]);
            ck[e] = malloc(len[e]);
            memcpy(ck[e], p, len[e]);
            e++;
        }
        char *straight = dup_str(run_result_json(a));
        run_free(a);
        CHECK(e == a_epochs(cfgs[t]) - 1, "%s: %d checkpoints, one per epoch end before the last", cfgs[t], e);
        for (int i = 0; i < e; i++) {
            Run *b = run_new(cfgs[t]);
            CHECK(run_restore(b, ck[i], len[i]) == 0 && b->epoch == i + 1, "restore epoch %d: %s", i + 1, nl_error());
            char *resumed = finish(b);
            CHECK(resumed && !strcmp(resumed, straight), "%s: resumed from epoch %d differs from the straight run",
                  cfgs[t], i + 1);
            free(resumed);
            run_free(b);
            free(ck[i]);
        }
        free(straight);
    }
}

/* classes=...: only the kept classes, relabelled in the listed order; sizes
   count kept images; imbalance and noise work on the k labels */
static void test_classes(void) {
    Run *r = run_new("classes=9,0,4&train=300&test=90&epochs=1&model=mlp&width=16&tsne=0");
    char *j = finish(r);
    CHECK(r->train_set.classes == 3 && r->test_set.classes == 3 && r->model.classes == 3,
          "k = 3 labels and outputs (%d, %d, model %d)", r->train_set.classes, r->test_set.classes, r->model.classes);
    CHECK(r->ntrain == 300 && r->ntest == 90, "sizes count kept images: %d train, %d test", r->ntrain, r->ntest);
    /* synth labels are i % 10: the kept images are exactly those of classes 9, 0, 4 */
    int ok = 1;
    for (int i = 0; i < r->ntrain; i++) {
        int idx = r->train_idx[i], orig = idx % 10, want = orig == 9 ? 0 : orig == 0 ? 1 : orig == 4 ? 2 : -1;
        ok &= r->clean[idx] == want && want >= 0;
    }
    for (int i = 0; i < r->ntest; i++) {
        int idx = r->test_idx[i], orig = idx % 10, want = orig == 9 ? 0 : orig == 0 ? 1 : orig == 4 ? 2 : -1;
        ok &= r->test_set.labels[idx] == want && want >= 0;
    }
    CHECK(ok, "every kept image has its class's new label, in the listed order");
    CHECK(strstr(j, "\"class_names\":[\"dots\",\"disc\",\"ring\"],\"class_ids\":[9,0,4]") != NULL,
          "class names follow the listed order");
    CHECK(strstr(j, "\"confusion\":[[") && strstr(j, "\"classes\":3"), "3x3 metrics");
    free(j);
    run_free(r);

    /* the filter is taken from the same permutation as without it: the kept
       images of a subset run come in the order the full run meets them */
    Run *full = run_new("train=0&test=0&epochs=1&model=linear&tsne=0"), *sub = run_new("classes=2,7&epochs=1&model=linear&tsne=0");
    run_start(full), run_start(sub);
    int m = 0, same = 1;
    for (int i = 0; i < full->ntrain; i++) {
        int idx = full->train_idx[i];
        if (idx % 10 == 2 || idx % 10 == 7) same &= m < sub->ntrain && sub->train_idx[m++] == idx;
    }
    CHECK(same && m == sub->ntrain && sub->ntrain == 1000, "subset = the full permutation filtered (%d of %d)", m, sub->ntrain);
    run_free(full), run_free(sub);

    /* symmetric noise over the k kept classes: every wrong label is another kept class */
    Run *n = run_new("classes=1,3,5&train=600&test=60&epochs=1&model=linear&noise=0.4&tsne=0");
    free(finish(n));
    long wrong = 0, total = 0, want = 0;
    for (int i = 0; i < 3; i++) {
        want += noise_count(0.4, n->class_counts[i]);
        for (int k = 0; k < 3; k++) total += n->noise_counts[i * 3 + k], wrong += i != k ? n->noise_counts[i * 3 + k] : 0;
    }
    CHECK(total == 600 && wrong == want, "sym 0.4 over 3 classes: %ld wrong of %ld, want %ld", wrong, total, want);
    run_free(n);

    /* imbalance ranks the kept classes in the listed order */
    Run *lt = run_new("classes=6,2&train=0&test=60&epochs=1&model=linear&imbalance=step&rho=10&tsne=0");
    free(finish(lt));
    CHECK(lt->class_counts[0] == 500 && lt->class_counts[1] == 50, "step rho=10 over 6,2: %ld, %ld",
          lt->class_counts[0], lt->class_counts[1]);
    run_free(lt);

    /* asym: the pairs between kept classes flip (synth 5<->6); a kept class whose
       target is dropped is refused naming the key, the classes and the fix */
    Run *as = run_new("classes=5,6,1&train=300&test=60&epochs=1&model=linear&noise=0.2&noise_type=asym&tsne=0");
    free(finish(as));
    CHECK(as->noise_counts[0 * 3 + 1] == noise_count(0.2, as->class_counts[0]) &&
              as->noise_counts[1 * 3 + 0] == noise_count(0.2, as->class_counts[1]) &&
              as->noise_counts[2 * 3 + 2] == as->class_counts[2] && as->class_counts[2] > 0,
          "asym over 5,6,1: 5->6 %ld, 6->5 %ld, 1 clean %ld", as->noise_counts[1], as->noise_counts[3], as->noise_counts[8]);
    run_free(as);
    Run *bad = run_new("classes=4,5,6&epochs=1&model=linear&noise=0.2&noise_type=asym");
    CHECK(run_step(bad, 10) < 0 && strstr(nl_error(), "class 4 (ring) to class 0 (disc)") &&
              strstr(nl_error(), "config key 'classes' (4,5,6) drops") && strstr(nl_error(), "Hint: add class 0"),
          "asym target dropped: %s", nl_error());
    run_free(bad);

    /* custom noise must be k x k */
    Run *cu = run_new("classes=0,1&train=100&test=20&epochs=1&model=linear&noise_type=custom&noise_matrix=0.5,0.5;0,1&tsne=0");
    free(finish(cu));
    CHECK(cu->noise_counts[1 * 2 + 0] == 0 && cu->noise_counts[0] + cu->noise_counts[1] == cu->class_counts[0] &&
              cu->noise_counts[0] > 0 && cu->noise_counts[1] > 0, "2x2 custom matrix");
    run_free(cu);
    Run *c3 = run_new("classes=0,1,2&epochs=1&model=linear&noise_type=custom&noise_matrix=0.5,0.5;0,1");
    CHECK(run_step(c3, 10) < 0 && strstr(nl_error(), "noise_matrix") && strstr(nl_error(), "3 x 3"), "k x k: %s", nl_error());
    run_free(c3);

    /* val counts kept images too */
    Run *v = run_new("classes=0,1&val=1000&epochs=1&model=linear");
    CHECK(run_step(v, 10) < 0 && strstr(nl_error(), "only 1000 of the kept classes"), "val: %s", nl_error());
    run_free(v);
}

/* noise and imbalance reach the run: realised matrix, clean labels kept, and
   the memorisation curve (accuracy against clean labels) is recorded */
static void test_noise_in_run(void) {
    Run *r = run_new("train=1000&test=200&epochs=2&model=mlp&width=64&noise=0.4&noise_type=sym&tsne=50");
    char *j = finish(r);
    int K = r->train_set.classes;
    long wrong = 0, total = 0, diag = 0;
    for (int i = 0; i < K; i++)
        for (int k = 0; k < K; k++) {
            total += r->noise_counts[i * K + k];
            if (i == k) diag += r->noise_counts[i * K + k];
        }
    for (int i = 0; i < r->ntrain; i++) wrong += r->train_set.labels[r->train_idx[i]] != r->clean[r->train_idx[i]];
    CHECK(total == r->ntrain && total - diag == wrong, "matrix counts %ld of %d, off-diagonal %ld = wrong %ld",
          total, r->ntrain, total - diag, wrong);
    CHECK(r->noise_rate > 0.38 && r->noise_rate <= 0.4, "sym 0.4 realises %.4f wrong labels", r->noise_rate);
    CHECK(strstr(j, "\"train_acc_clean\"") && strstr(j, "\"realised_rate\"") && strstr(j, "\"final\"") &&
          strstr(j, "\"embedding\"") && strstr(j, "\"relabelled\":[{"), "result has the study's fields");
    /* the test set stays clean: its labels are the dataset's */
    CHECK(r->hist[1].train_acc_clean != r->hist[1].train_acc, "clean and noisy training accuracy differ");
    free(j);
    run_free(r);
    Run *c = run_new("train=300&test=100&epochs=1&model=linear&noise_type=custom&noise_matrix=1,0;0,1");
    CHECK(run_step(c, 1000) < 0 && strstr(nl_error(), "noise_matrix") && strstr(nl_error(), "Hint:"),
          "a 2x2 matrix for 10 classes is refused: %s", nl_error());
    run_free(c);
    Run *lt = run_new("train=2000&test=100&epochs=1&model=linear&imbalance=long-tail&rho=10");
    char *jl = finish(lt);
    CHECK(lt->class_counts[0] >= 9 * lt->class_counts[9] && lt->class_counts[9] > 0,
          "long tail rho=10: %ld ... %ld", lt->class_counts[0], lt->class_counts[9]);
    free(jl);
    run_free(lt);
}

/* early stopping stops, restores the best validation weights, and says so */
static void test_early_stopping(void) {
    Run *r = run_new("train=400&val=200&test=100&epochs=30&model=mlp&width=32&lr=0.5&patience=2&tsne=0");
    char *j = finish(r);
    CHECK(r->stopped_early && r->epoch < 30, "stopped early after %d epochs", r->epoch);
    CHECK(r->epoch - r->best_val_epoch == 2, "stopped %d epochs after the best (%d)", r->epoch - r->best_val_epoch, r->best_val_epoch);
    float loss, acc;
    run_evaluate(r, 2, &loss, &acc);
    CHECK(acc == r->hist[r->best_val_epoch - 1].val_acc, "the best weights are restored: val acc %.4f vs %.4f",
          acc, r->hist[r->best_val_epoch - 1].val_acc);
    CHECK(strstr(j, "\"stopped_early\":true") != NULL, "result says it stopped early");
    free(j);
    run_free(r);
    Run *bad = run_new("train=300&epochs=1&patience=3");
    CHECK(run_step(bad, 10) < 0 && strstr(nl_error(), "'patience'") && strstr(nl_error(), "val"), "patience needs val: %s", nl_error());
    run_free(bad);
}

/* a diverging run stops at once with epoch and step, keeps its history */
static void test_divergence(void) {
    Run *r = run_new("train=200&test=50&epochs=5&model=mlp&lr=100&momentum=0.9999&wd=0&tsne=0");
    int st;
    while ((st = run_step(r, 50)) == RUN_TRAINING || st == RUN_EPOCH_END) {}
    CHECK(st == RUN_DIVERGED && strstr(r->message, "diverged at epoch") && strstr(r->message, ", step ") &&
          strstr(r->message, "lower the learning rate"), "message: %s", r->message);
    const char *j = run_result_json(r);
    CHECK(strstr(j, "\"status\":\"diverged\"") != NULL, "result records the divergence");
    run_free(r);
}

static double json_number(const char *j, const char *key) {
    const char *p = j ? strstr(j, key) : NULL;
    return p ? atof(p + strlen(key)) : -1;
}

/* the gradient check agrees (float32 differences: the median error is what
   agreement looks like, the max also shows ReLU/max-pool kinks) and leaves the
   run untouched */
static void test_gradcheck(void) {
    const char *cfg = "train=200&test=50&epochs=1&model=cnn-small&mult=0.5&batch=20&tsne=0";
    Run *a = run_new(cfg);
    const char *g = run_gradcheck_json(a);
    CHECK(g && strstr(g, "\"kind\":\"conv\"") && strstr(g, "\"kind\":\"dense\""), "gradcheck: %s", g ? g : nl_error());
    const char *tail = g ? strstr(g, "],\"max_rel_err\":") : NULL;
    double median = json_number(tail, "\"median_rel_err\":");
    CHECK(median >= 0 && median < 0.05, "cnn-small: worst per-layer median relative error %.3g", median);
    char *ja = finish(a);
    Run *b = run_new(cfg);
    char *jb = finish(b);
    CHECK(ja && jb && strcmp(ja, jb) == 0, "a run after a gradient check equals one without");
    free(ja), free(jb);
    run_free(a), run_free(b);
    Run *m = run_new("train=200&model=mlp&width=32&act=tanh");
    g = run_gradcheck_json(m);
    tail = g ? strstr(g, "],\"max_rel_err\":") : NULL;
    double worst = json_number(tail, "],\"max_rel_err\":");
    CHECK(worst >= 0 && worst < 0.05, "smooth mlp: worst relative error %.3g", worst);
    run_free(m);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_checkpoint();
    test_checkpoint_every_epoch();
    test_classes();
    test_noise_in_run();
    test_early_stopping();
    test_divergence();
    test_gradcheck();
    return check_summary("test_train");
}
