/* test_config.c: the config parser's presets (preset=NAME), the class subset
   (classes=a,b,...) and canonical form.

   A preset is applied before the explicit keys, which override it in any
   order; the canonical string expands it key by key, so it round-trips to the
   same Config without naming the preset. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "err.h"

static const char *names[] = {"mnist-apl", "mnist-browser", "fashion-mnist-apl", "fashion-mnist-browser",
                              "cifar10-apl", "cifar10-browser", "aifb-rgcn", "mutag-rgcn", "dmg777k-rgcn"};
#define NNAMES ((int)(sizeof names / sizeof names[0]))

/* parses s, then checks that its canonical string has no preset and parses back to the same Config */
static int parse_round_trip(Config *c, const char *s) {
    char buf[4096];
    Config d;
    if (config_parse(c, s) < 0) {
        CHECK(0, "'%s' does not parse: %s", s, nl_error());
        return -1;
    }
    CHECK(config_to_string(c, buf, sizeof buf) == 0, "'%s': canonical string: %s", s, nl_error());
    CHECK(!strstr(buf, "preset"), "'%s': canonical '%s' names the preset instead of expanding it", s, buf);
    CHECK(config_parse(&d, buf) == 0 && memcmp(c, &d, sizeof d) == 0, "'%s': canonical '%s' is another config", s, buf);
    return 0;
}

static void test_every_preset_parses(void) {
    const char *json = config_presets_json();
    for (int i = 0; i < NNAMES; i++) {
        char s[64], quoted[64];
        Config c, d;
        snprintf(s, sizeof s, "preset=%s", names[i]);
        snprintf(quoted, sizeof quoted, "\"%s\"", names[i]);
        CHECK(strstr(json, quoted) != NULL, "presets JSON lacks %s: %s", names[i], json);
        CHECK(strstr(config_schema_json(), quoted) != NULL, "schema lacks preset %s", names[i]);
        if (parse_round_trip(&c, s) < 0) continue;
        config_defaults(&d);
        CHECK(memcmp(&c, &d, sizeof c) != 0, "%s changes nothing", names[i]);
        if (strstr(names[i], "rgcn")) /* the R-GCN paper: Adam lr 0.01, 50 full-batch epochs */
            CHECK(!strcmp(c.opt, "adam") && c.lr == 0.01 && c.epochs == 50 && !strcmp(c.model, "rgcn"),
                  "%s: not the R-GCN protocol", names[i]);
        else CHECK(c.clip == 5 && c.batch == 128 && !strcmp(c.opt, "sgd") && c.momentum == 0.9 && c.lr == 0.01 &&
                  !strcmp(c.sched, "cosine"),
              "%s: not the APL optimiser (clip %g batch %d opt %s momentum %g lr %g sched %s)", names[i], c.clip,
              c.batch, c.opt, c.momentum, c.lr, c.sched);
        CHECK(!strcmp(c.loss, "ce") && c.noise == 0 && c.seed == 0, "%s sets the loss, noise or seed: the axes of a study",
              names[i]);
    }
}

static void test_apl_protocol(void) {
    Config c;
    parse_round_trip(&c, "preset=mnist-apl");
    CHECK(!strcmp(c.dataset, "mnist") && !strcmp(c.model, "cnn4") && c.nesterov == 1 && c.wd == 1e-2 &&
              c.lr_min == 0.001 && c.epochs == 50 && c.eval_batch == 512 && !strcmp(c.aug, "none") && c.train == 0,
          "mnist-apl: dataset %s model %s nesterov %d wd %g lr_min %g epochs %d eval_batch %d aug %s train %d", c.dataset,
          c.model, c.nesterov, c.wd, c.lr_min, c.epochs, c.eval_batch, c.aug, c.train);
    parse_round_trip(&c, "preset=cifar10-apl");
    CHECK(!strcmp(c.dataset, "cifar10") && !strcmp(c.model, "cnn8") && c.nesterov == 0 && c.wd == 1e-4 &&
              c.lr_min == 0 && c.epochs == 120 && c.eval_batch == 128 && !strcmp(c.aug, "crop+flip") && c.mult == 1,
          "cifar10-apl: dataset %s model %s nesterov %d wd %g lr_min %g epochs %d eval_batch %d aug %s mult %g",
          c.dataset, c.model, c.nesterov, c.wd, c.lr_min, c.epochs, c.eval_batch, c.aug, c.mult);
    parse_round_trip(&c, "preset=mnist-browser");
    CHECK(c.train == 2000 && c.test == 1000 && c.epochs == 5 && c.wd == 1e-2, "mnist-browser: train %d test %d epochs %d",
          c.train, c.test, c.epochs);
}

static void test_explicit_keys_override(void) {
    Config a, b, c;
    /* before or after the preset: the explicit key wins, the rest of the preset stays */
    parse_round_trip(&a, "epochs=3&preset=mnist-apl&dataset=synth");
    parse_round_trip(&b, "preset=mnist-apl&dataset=synth&epochs=3");
    CHECK(memcmp(&a, &b, sizeof a) == 0, "the order of preset and keys matters");
    CHECK(a.epochs == 3 && !strcmp(a.dataset, "synth") && a.nesterov == 1 && a.wd == 1e-2,
          "override: epochs %d dataset %s nesterov %d wd %g", a.epochs, a.dataset, a.nesterov, a.wd);
    /* overriding back to a default: the canonical string omits the key, and still
       reads back as the same run because it does not name the preset */
    parse_round_trip(&c, "preset=mnist-apl&wd=0.0005&nesterov=0");
    CHECK(c.wd == 0.0005 && c.nesterov == 0, "override to the default: wd %g nesterov %d", c.wd, c.nesterov);
    char buf[4096];
    config_to_string(&c, buf, sizeof buf);
    CHECK(strcmp(buf, "v=1&dataset=mnist&opt=sgd&lr=0.01&momentum=0.9&nesterov=1") != 0 && !strstr(buf, "wd=") &&
              !strstr(buf, "nesterov="),
          "canonical: %s", buf);
    /* the val/train check sees the merged config */
    CHECK(config_parse(&c, "preset=mnist-browser&val=2000") < 0 && strstr(nl_error(), "'val'"),
          "val >= the preset's train is accepted: %s", nl_error());
}

static void test_bad_presets(void) {
    static const struct {
        const char *cfg, *needle;
    } bad[] = {
        {"preset=mnist", "'mnist' is not a preset"},
        {"preset=", "not a preset"},
        {"preset=mnist-apl&preset=cifar10-apl", "given twice"},
        {"Preset=mnist-apl", "unknown config key"},
    };
    Config c;
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        CHECK(config_parse(&c, bad[i].cfg) < 0, "'%s' is accepted", bad[i].cfg);
        CHECK(strstr(nl_error(), bad[i].needle) && strstr(nl_error(), "Hint:"), "'%s': %s", bad[i].cfg, nl_error());
    }
    config_parse(&c, "preset=nope");
    CHECK(strstr(nl_error(), "cifar10-browser") && strstr(nl_error(), "noisylab presets"),
          "the message lists the presets: %s", nl_error());
}

static void test_no_preset_unchanged(void) {
    /* without a preset nothing changed: the canonical strings of plain configs */
    Config c;
    char buf[4096];
    config_parse(&c, "");
    config_to_string(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "v=1"), "defaults: %s", buf);
    config_parse(&c, "#seed=2&lr=1e-3");
    config_to_string(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "v=1&lr=0.001&seed=2"), "canonical: %s", buf);
    config_to_json(&c, buf, sizeof buf);
    CHECK(!strncmp(buf, "{\"v\":1,\"dataset\":", 17) && !strstr(buf, "preset"), "json: %.60s", buf);
}

/* classes: canonical text keeps the listed order; bad lists name the key and what is allowed */
static void test_classes(void) {
    Config c;
    char buf[4096];
    int ids[CONFIG_MAX_CLASSES];
    parse_round_trip(&c, "dataset=fashion-mnist&classes=09,0");
    config_to_string(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "v=1&dataset=fashion-mnist&classes=9,0"), "canonical: %s", buf);
    CHECK(config_classes(&c, ids, CONFIG_MAX_CLASSES) == 2 && ids[0] == 9 && ids[1] == 0, "ids of 9,0");
    parse_round_trip(&c, "classes=all&seed=1");
    CHECK(config_classes(&c, ids, CONFIG_MAX_CLASSES) == 0, "all keeps every class");
    config_to_string(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "v=1&seed=1"), "all is the default: %s", buf);
    parse_round_trip(&c, "classes=0%2C3%2C5"); /* %-encoded commas, as a sweep grid writes them */
    CHECK(!strcmp(c.classes, "0,3,5"), "decoded: %s", c.classes);
    config_to_json(&c, buf, sizeof buf);
    CHECK(strstr(buf, "\"classes\":\"0,3,5\"") != NULL, "json: %s", buf);
    CHECK(strstr(config_schema_json(), "{\"key\":\"classes\",\"type\":\"classes\",\"default\":\"all\"") != NULL,
          "schema entry of classes");
    static const struct {
        const char *cfg, *needle;
    } bad[] = {
        {"classes=3", "keeps 1 class"},
        {"classes=1,1", "class 1 is listed twice"},
        {"classes=0,10", "class 10 does not exist"},
        {"classes=0,99", "class 99 is out of range"},
        {"classes=0,1.5", "not a list of class numbers"},
        {"classes=-1,2", "not a list of class numbers"},
        {"classes=0,,2", "not a list of class numbers"},
        {"classes=0, 2", "not a list of class numbers"},
        {"classes=", "not a list of class numbers"},
        {"classes=cat,dog", "not a list of class numbers"},
        {"dataset=cora&model=gcn&classes=0,1", "is a graph"},
    };
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        CHECK(config_parse(&c, bad[i].cfg) < 0, "'%s' is accepted", bad[i].cfg);
        const char *e = nl_error();
        CHECK(strstr(e, bad[i].needle) && strstr(e, "config key 'classes'") && strstr(e, "Hint:"), "'%s': %s",
              bad[i].cfg, e);
        if (!strstr(bad[i].cfg, "cora"))
            CHECK(strstr(e, "all") != NULL, "'%s': the message names the allowed values: %s", bad[i].cfg, e);
    }
}

int main(void) {
    test_every_preset_parses();
    test_apl_protocol();
    test_explicit_keys_override();
    test_bad_presets();
    test_no_preset_unchanged();
    test_classes();
    return check_summary("test_config");
}
