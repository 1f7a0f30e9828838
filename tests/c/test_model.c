/* test_model.c: whole networks, optimizers, schedules and training determinism.

   The layers have their own gradient checks (test_layers.c); this one checks
   the plumbing around them: tensor wiring, in-place ReLU, residual branches,
   flatten views and the arena, by finite differences through every model. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "err.h"
#include "loss.h"
#include "model.h"
#include "train.h"

static float model_loss(Model *m, const float *x, const int *y, int B, float *probs, float *losses) {
    Loss l = {LOSS_CE};
    float *logits = model_forward(m, x, B, 1, NULL);
    return loss_compute(&l, logits, y, B, m->classes, probs, losses, NULL, 0);
}

/* Finite differences on a sample of parameters. Float32 and ReLU/max-pool kinks
   make single checks noisy, so each parameter passes if the relative error is
   small OR the absolute error is tiny, and the model passes if 90% of them do. */
static void gradcheck_model(const char *cfgstr, int C, int H, int W, int K) {
    Config c;
    CHECK(config_parse(&c, cfgstr) == 0, "config %s", cfgstr);
    Model m;
    int B = 4;
    CHECK(model_build(&m, &c, C, H, W, K, B) == 0, "build %s", cfgstr);
    Rng rng;
    rng_init(&rng, 7, STREAM_INIT);
    model_init(&m, &rng);
    /* perturb BN gammas/betas and biases away from 1/0 so their gradients are generic */
    for (long i = 0; i < m.nparams; i++) m.params[i] += 0.05f * (rng_uniform(&rng) - 0.5f);
    long img = (long)C * H * W;
    float *x = malloc(sizeof(float) * img * B), *probs = malloc(sizeof(float) * K * B), *losses = malloc(sizeof(float) * B);
    int y[4];
    for (long i = 0; i < img * B; i++) x[i] = rng_normal(&rng);
    for (int b = 0; b < B; b++) y[b] = b % K;
    /* running statistics change on every train-mode forward; keep a copy to restore */
    float *buf = malloc(sizeof(float) * (m.nbuffers + 1));
    memcpy(buf, m.buffers, sizeof(float) * m.nbuffers);
    model_zero_grad(&m, B);
    Loss l = {LOSS_CE};
    float *logits = model_forward(&m, x, B, 1, NULL);
    loss_compute(&l, logits, y, B, K, probs, losses, model_dlogits(&m), 1.0f);
    model_backward(&m, B);
    int n = 40, ok = 0;
    double worst = 0;
    for (int t = 0; t < n; t++) {
        long i = (long)rng_below(&rng, (uint32_t)m.nparams);
        float p0 = m.params[i], eps = 1e-3f * (fabsf(p0) > 1 ? fabsf(p0) : 1);
        m.params[i] = p0 + eps;
        double lp = model_loss(&m, x, y, B, probs, losses);
        m.params[i] = p0 - eps;
        double lm = model_loss(&m, x, y, B, probs, losses);
        m.params[i] = p0;
        double num = (lp - lm) / (2.0 * eps), ana = m.grads[i];
        double err = fabs(num - ana) / (fabs(num) + fabs(ana) + 1e-6);
        if (err < 5e-2 || fabs(num - ana) < 1e-3) ok++;
        else {
            if (err > worst) worst = err;
            if (getenv("NL_VERBOSE")) {
                int li = 0;
                for (int j = 0; j < m.nlayers; j++)
                    if ((m.layers[j].w >= 0 && i >= m.layers[j].w) || (m.layers[j].b >= 0 && i >= m.layers[j].b)) li = j;
                printf("    param %ld (layer %d kind %d): numeric %.6g analytic %.6g\n", i, li, m.layers[li].kind, num, ana);
            }
        }
    }
    memcpy(m.buffers, buf, sizeof(float) * m.nbuffers);
    printf("  %-44s %8ld params  %d/%d finite-difference checks ok (worst failing rel err %.3g)\n",
           cfgstr, m.nparams, ok, n, worst);
    CHECK(ok >= n * 9 / 10, "%s: only %d/%d gradient checks passed", cfgstr, ok, n);
    free(x), free(probs), free(losses), free(buf);
    model_free(&m);
}

static void test_models(void) {
    gradcheck_model("model=linear", 1, 6, 6, 3);
    gradcheck_model("model=mlp&depth=2&width=16&act=relu", 1, 6, 6, 3);
    gradcheck_model("model=mlp&depth=1&width=16&act=gelu", 1, 6, 6, 3);
    gradcheck_model("model=mlp&depth=3&width=8&act=tanh", 2, 4, 4, 3);
    gradcheck_model("model=mlp&depth=1&width=8&act=sigmoid", 2, 4, 4, 3);
    gradcheck_model("model=mlp&depth=1&width=8&act=leaky-relu", 2, 4, 4, 3);
    gradcheck_model("model=cnn-small&mult=0.125", 3, 8, 8, 5);
    gradcheck_model("model=refcnn&mult=0.125", 3, 8, 8, 5);
    gradcheck_model("model=cnn4&mult=0.125", 1, 12, 12, 5);
    gradcheck_model("model=cnn8&mult=0.0625", 3, 16, 16, 5);
    gradcheck_model("model=resnet9&mult=0.0625", 3, 16, 16, 5);
}

static void test_shapes(void) {
    /* the published architectures: parameter counts computed by hand from their layers */
    Config c;
    Model m;
    config_parse(&c, "model=cnn4");
    CHECK(model_build(&m, &c, 1, 28, 28, 10, 2) == 0, "cnn4 builds");
    long cnn4 = (32 * 9 + 32) + 2 * 32 + (64 * 32 * 9 + 64) + 2 * 64 + (128 * 3136 + 128) + 2 * 128 + (10 * 128 + 10);
    CHECK(m.nparams == cnn4, "cnn4 params %ld, expected %ld", m.nparams, cnn4);
    CHECK(m.tensors[m.embed].size == 128, "cnn4 embedding is fc128");
    model_free(&m);
    config_parse(&c, "model=cnn8");
    CHECK(model_build(&m, &c, 3, 32, 32, 10, 2) == 0, "cnn8 builds");
    long cnn8 = 0;
    int ch[7] = {3, 64, 64, 128, 128, 196, 196};
    for (int i = 0; i < 6; i++) cnn8 += (long)ch[i + 1] * ch[i] * 9 + ch[i + 1] + 2 * ch[i + 1];
    cnn8 += 3136L * 256 + 256 + 2 * 256 + 256 * 10 + 10;
    CHECK(m.nparams == cnn8, "cnn8 params %ld, expected %ld", m.nparams, cnn8);
    model_free(&m);
    config_parse(&c, "model=cnn8");
    CHECK(model_build(&m, &c, 1, 4, 4, 10, 2) < 0, "cnn8 refuses a 4x4 input");
}

static void test_optim(void) {
    Config c;
    Model m;
    config_parse(&c, "model=linear&wd=0");
    model_build(&m, &c, 1, 1, 1, 2, 1); /* 2 weights + 2 biases */
    Optim o;
    /* SGD with momentum (PyTorch): buf = g on the first step, then mu*buf + g */
    config_parse(&c, "model=linear&wd=0&lr=0.1&momentum=0.9");
    optim_from_config(&o, &c);
    memset(m.params, 0, sizeof(float) * m.nparams);
    for (int s = 0; s < 3; s++) {
        for (long i = 0; i < m.nparams; i++) m.grads[i] = 1.0f;
        optim_step(&o, &m, 0.1f);
    }
    CHECK_CLOSE(m.params[0], -0.1 * (1 + 1.9 + 2.71), 1e-6, "sgd momentum after 3 steps");
    /* Nesterov: step uses g + mu*buf */
    config_parse(&c, "model=linear&wd=0&momentum=0.9&nesterov=1");
    optim_from_config(&o, &c);
    memset(m.params, 0, sizeof(float) * m.nparams);
    for (long i = 0; i < m.nparams; i++) m.grads[i] = 1.0f;
    optim_step(&o, &m, 0.1f);
    CHECK_CLOSE(m.params[0], -0.1 * 1.9, 1e-6, "nesterov first step");
    /* weight decay adds wd * w to the gradient */
    config_parse(&c, "model=linear&wd=0.5&momentum=0");
    optim_from_config(&o, &c);
    for (long i = 0; i < m.nparams; i++) m.params[i] = 2.0f, m.grads[i] = 0.0f;
    optim_step(&o, &m, 0.1f);
    CHECK_CLOSE(m.params[0], 2.0 - 0.1 * 0.5 * 2.0, 1e-6, "weight decay");
    /* Adam's first step moves every weight by lr (bias-corrected m/sqrt(v) = sign(g)) */
    config_parse(&c, "model=linear&wd=0&opt=adam");
    optim_from_config(&o, &c);
    memset(m.params, 0, sizeof(float) * m.nparams);
    memset(m.opt_m, 0, sizeof(float) * 2 * m.nparams);
    for (long i = 0; i < m.nparams; i++) m.grads[i] = i % 2 ? -3.0f : 0.5f;
    optim_step(&o, &m, 0.01f);
    CHECK_CLOSE(m.params[0], -0.01, 1e-5, "adam first step, positive gradient");
    CHECK_CLOSE(m.params[1], 0.01, 1e-5, "adam first step, negative gradient");
    /* AdaGrad's first step: lr * g / |g| */
    config_parse(&c, "model=linear&wd=0&opt=adagrad");
    optim_from_config(&o, &c);
    memset(m.params, 0, sizeof(float) * m.nparams);
    memset(m.opt_m, 0, sizeof(float) * 2 * m.nparams);
    for (long i = 0; i < m.nparams; i++) m.grads[i] = 4.0f;
    optim_step(&o, &m, 0.1f);
    CHECK_CLOSE(m.params[0], -0.1, 1e-5, "adagrad first step");
    /* RMSprop first step: g / sqrt((1-alpha) g^2) */
    config_parse(&c, "model=linear&wd=0&opt=rmsprop&beta2=0.99&momentum=0");
    optim_from_config(&o, &c);
    memset(m.params, 0, sizeof(float) * m.nparams);
    memset(m.opt_m, 0, sizeof(float) * 2 * m.nparams);
    for (long i = 0; i < m.nparams; i++) m.grads[i] = 2.0f;
    optim_step(&o, &m, 0.01f);
    CHECK_CLOSE(m.params[0], -0.01 / sqrt(0.01), 1e-4, "rmsprop first step");
    /* clipping scales the global norm down to the threshold and reports the old norm */
    for (long i = 0; i < m.nparams; i++) m.grads[i] = 3.0f; /* norm = 3 * sqrt(4) = 6 */
    CHECK_CLOSE(clip_grad_norm(&m, 3.0f), 6.0, 1e-6, "clip reports the norm");
    CHECK_CLOSE(clip_grad_norm(&m, 0), 3.0, 1e-5, "clipped norm");
    model_free(&m);
    /* schedules */
    config_parse(&c, "lr=0.1&sched=cosine&epochs=10&lr_min=0.001");
    CHECK_CLOSE(lr_at_epoch(&c, 0), 0.1, 1e-6, "cosine starts at lr");
    CHECK_CLOSE(lr_at_epoch(&c, 5), 0.0505, 1e-5, "cosine midpoint");
    config_parse(&c, "lr=0.1&sched=step&step_every=3&step_factor=0.5");
    CHECK_CLOSE(lr_at_epoch(&c, 2), 0.1, 1e-6, "step before decay");
    CHECK_CLOSE(lr_at_epoch(&c, 3), 0.05, 1e-6, "step after decay");
    CHECK_CLOSE(lr_at_epoch(&c, 7), 0.025, 1e-6, "step after two decays");
}

static char *run_to_json(const char *cfg) {
    Run *r = run_new(cfg);
    if (!r) return NULL;
    int st;
    while ((st = run_step(r, 50)) == RUN_TRAINING || st == RUN_EPOCH_END) {}
    const char *j = run_result_json(r);
    char *s = malloc(strlen(j) + 1);
    if (s) memcpy(s, j, strlen(j) + 1);
    run_free(r);
    return s;
}

static void test_determinism(void) {
    const char *cfg = "train=300&test=100&epochs=2&model=mlp&width=32&dropout=0.2&aug=crop+flip&batch=32";
    char *a = run_to_json(cfg), *b = run_to_json(cfg);
    CHECK(a && b && strcmp(a, b) == 0, "same config, same seed: identical metrics");
    char *c = run_to_json("train=300&test=100&epochs=2&model=mlp&width=32&dropout=0.2&aug=crop+flip&batch=32&seed=1");
    CHECK(a && c && strcmp(a, c) != 0, "another seed gives other metrics");
    free(a), free(b), free(c);
    /* a diverging run stops with a message and a hint, not NaN metrics */
    Run *r = run_new("train=200&test=50&epochs=3&model=mlp&lr=100&momentum=0.9999&wd=0");
    int st;
    while ((st = run_step(r, 50)) == RUN_TRAINING || st == RUN_EPOCH_END) {}
    CHECK(st == RUN_DIVERGED, "lr=100 diverges (status %d)", st);
    CHECK(strstr(r->message, "Hint:") != NULL, "divergence message has a hint: %s", r->message);
    run_free(r);
}

static void test_config(void) {
    Config c;
    char buf[1024];
    CHECK(config_parse(&c, "#v=1&dataset=cifar10&lr=0.05&aug=crop%2Bflip&seed=3") == 0, "parse: %s", nl_error());
    CHECK(!strcmp(c.aug, "crop+flip") && c.lr == 0.05 && c.seed == 3, "values");
    config_to_string(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "v=1&dataset=cifar10&aug=crop+flip&lr=0.05&seed=3"), "canonical: %s", buf);
    Config d;
    CHECK(config_parse(&d, buf) == 0 && !memcmp(&c, &d, sizeof c), "round trip");
    struct { const char *in, *must; } bad[] = {
        {"lr=abc", "'lr'"}, {"lr=-1", "from 0 to 100"}, {"model=vgg", "linear|mlp"},
        {"epochs=1.5", "whole number"}, {"foo=1", "unknown config key 'foo'"}, {"lr", "no '='"},
        {"v=2", "newer"}, {"lr=1&lr=2", "twice"}, {"lr=", "empty"}, {"lr=%zz", "malformed"},
        {"seed=1e20", "out of range"}, {"lr=nan", "not a number"}, {"train=10&val=10", "val"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = config_parse(&c, bad[i].in);
        CHECK(rc < 0 && strstr(nl_error(), bad[i].must) && strstr(nl_error(), "Hint:"),
              "'%s' -> %s", bad[i].in, nl_error());
    }
    CHECK(config_parse(&c, "") == 0 && config_parse(&c, "&&") == 0, "empty config = defaults");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_config();
    test_shapes();
    test_optim();
    test_models();
    test_determinism();
    return check_summary("test_model");
}
