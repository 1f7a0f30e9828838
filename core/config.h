/* config.h: the one config format of noisylab.

   A run is described by one string of key=value pairs joined by '&', e.g.
       v=1&dataset=fashion-mnist&model=cnn4&epochs=15&lr=0.01&seed=2
   The same string is the URL hash of the web lab, the argument of
   `noisylab train` and the input of every test. Values may be %XX-encoded;
   a leading '#' or '?' is ignored; keys may come in any order; a key may
   appear once. Missing keys take their defaults.

   Versioning: `v` is the format version (currently 1). A string without `v`
   is read as the current version; a newer version is refused with a message
   instead of being silently misread. Any change of a default or of the
   meaning of a key bumps the version.

   Presets: `preset=NAME` applies a named config string (e.g. the APL paper's
   MNIST protocol) before the other keys, which override it whatever their
   order. The parser expands it; Config has no preset field, so the canonical
   string lists the preset's values key by key and a saved link does not
   depend on what a preset holds later.

   Class subsets: `classes=0,3,5` keeps only those classes of an image
   dataset, in training and test sets alike, and relabels them 0..k-1 in the
   listed order (so the order is part of the run). The canonical text is the
   list as given, without spaces or leading zeros; `all` (the default) keeps
   every class. A graph dataset refuses it. How it composes with sizes,
   imbalance and noise: see train.h.

   Validation: an unknown key, a bad number, a value out of range or a name
   that is not one of the allowed values fails with a message that names the
   key and the allowed values or range (see config_parse).

   The schema (every key, its type, default, range or choices and a one-line
   help) is one table in config.c; config_schema_json exports it so the CLI
   help and the web controls are generated from the same source. */
#ifndef NL_CONFIG_H
#define NL_CONFIG_H

#include <stddef.h>

#define CONFIG_VERSION 1
#define CONFIG_NAME_LEN 24
#define CONFIG_TEXT_LEN 1024
#define CONFIG_LIST_LEN 128 /* classes: up to ~40 two-digit class ids */
#define CONFIG_MAX_CLASSES 64

typedef struct {
    int v;
    /* data */
    char dataset[CONFIG_NAME_LEN];
    char classes[CONFIG_LIST_LEN]; /* "all" or the kept class ids, "0,3,5" (config_classes) */
    int train, test, val; /* subset sizes; 0 = all (val: 0 = none) */
    int hops, max_nodes;  /* knowledge graphs: k-hop subgraph (subgraph.h); max_nodes 0 = whole graph */
    char aug[CONFIG_NAME_LEN];
    /* model */
    char model[CONFIG_NAME_LEN];
    int depth, width;
    char act[CONFIG_NAME_LEN];
    double mult, dropout;
    int hidden, heads, out_heads; /* graph models (gnn.h) */
    int bases;                    /* rgcn, mrgcn: basis matrices per layer, 0 = full weights (rgcn.h) */
    double attn_dropout;
    char init[CONFIG_NAME_LEN];
    double bn_momentum;
    /* loss; NAN in alpha, beta, q, gamma means "auto": the APL default for the
       dataset and loss, resolved by loss_from_config (loss.h) */
    char loss[CONFIG_NAME_LEN];
    double alpha, beta, q, gamma, cb_beta, margin, pnorm;
    /* label noise and class imbalance (noise.h) */
    double noise;
    char noise_type[CONFIG_NAME_LEN];
    char noise_matrix[CONFIG_TEXT_LEN]; /* custom: K rows of K numbers, "a,b,..;c,d,..;..." */
    char imbalance[CONFIG_NAME_LEN];
    double rho;
    /* evaluation */
    int patience, tsne;
    /* optimisation */
    char opt[CONFIG_NAME_LEN];
    double lr, momentum;
    int nesterov;
    double wd, clip, beta1, beta2, eps;
    char sched[CONFIG_NAME_LEN];
    int step_every;
    double step_factor, lr_min;
    int epochs, batch, eval_batch;
    long long seed;
} Config;

/* 1 for the knowledge-graph datasets (aifb, mutag, aifb-kgbench, mmlkg-synthetic, dmg777k, bundle) */
int config_is_kg(const char *dataset);
/* Fills every field with its default. */
void config_defaults(Config *c);
/* Parses s on top of the defaults. Returns 0, or -1 with the message in the
   error slot (err.h). */
int config_parse(Config *c, const char *s);
/* Writes the canonical string: "v=1" followed by every key whose value differs
   from its default, in schema order. Parsing it gives back the same Config. */
int config_to_string(const Config *c, char *buf, size_t cap);
/* Writes every key and value as a JSON object (the full record of a run). */
int config_to_json(const Config *c, char *buf, size_t cap);
/* The kept classes of c: writes their original ids, in the listed order, to
   ids[0..k) and returns k; returns 0 for classes=all. */
int config_classes(const Config *c, int *ids, int cap);
/* The schema as JSON: [{"key","type","default","min","max","choices","help"}...] */
const char *config_schema_json(void);
/* The presets as JSON: [{"name","config","help"}...]; config is the preset's own
   string, without the defaults */
const char *config_presets_json(void);

#endif
