/* test_train.c: whole runs through core/train.h: checkpoints that resume
   bit-identically, and the refusals of damaged or foreign checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
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

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_checkpoint();
    return check_summary("test_train");
}
