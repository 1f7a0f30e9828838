/* noisylab.h: the one C API of the noisylab core.

   The Web Worker, the Node CLI, the native driver and the tests all go
   through these functions (in WASM via wasm/noisylab.js). The API speaks in
   C strings, byte buffers and opaque handles, so a JS caller needs nothing
   but malloc/free and the memory views.

   Errors: a function that fails returns NULL or a negative number;
   nl_last_error() then says what happened and ends with a hint.
   Strings returned by the API belong to the core and stay valid until the
   next call on the same object.

   A run:
       NlRun *r = nl_run_new("dataset=mnist&model=cnn4&epochs=2");
       nl_run_add_shard(r, 0, train_bytes, n, "mnist/train.shard");  // not for synth
       nl_run_add_shard(r, 1, test_bytes, n, "mnist/test.shard");
       while ((st = nl_run_step(r, 20)) >= 0 && st != NL_DONE && st != NL_DIVERGED)
           if (st == NL_EPOCH_END) puts(nl_run_epoch_json(r, -1));  // last epoch
       puts(nl_run_result_json(r));
       nl_run_free(r); */
#ifndef NL_API_H
#define NL_API_H

#include <stdint.h>

typedef struct NlRun NlRun;

enum { NL_TRAINING = 0, NL_EPOCH_END = 1, NL_DONE = 2, NL_DIVERGED = 3 };

const char *nl_version(void);
/* the vector unit of this build: "wasm-simd128", "avx2", "sse", "scalar", ... */
const char *nl_isa(void);
const char *nl_last_error(void);

/* the canonical form of a config string, or NULL with an error */
const char *nl_config_normalize(const char *config);
/* every key and value of a config as JSON, or NULL with an error */
const char *nl_config_json(const char *config);
/* the schema of all keys as JSON */
const char *nl_config_schema(void);
/* the presets (preset=NAME) as JSON: [{"name","config","help"}...] */
const char *nl_config_presets(void);

NlRun *nl_run_new(const char *config);
int nl_run_add_shard(NlRun *r, int split, const uint8_t *bytes, uint32_t len, const char *name);
int nl_run_start(NlRun *r);
int nl_run_step(NlRun *r, int max_steps);
const char *nl_run_progress_json(NlRun *r);
/* metrics of one epoch (1-based); -1 = the last finished epoch */
const char *nl_run_epoch_json(NlRun *r, int epoch);
const char *nl_run_result_json(NlRun *r);
/* the gradient check of the run's model on its first training batch, as JSON
   (see run_gradcheck_json in core/train.h); the run is left unchanged */
const char *nl_run_gradcheck_json(NlRun *r);
/* a checkpoint between epochs (weights, optimizer state, generators, history);
   the bytes stay valid until the next call on r. restore continues a run of
   the same config bit-identically; see core/train.h. */
const uint8_t *nl_run_checkpoint(NlRun *r, uint32_t *len);
int nl_run_restore(NlRun *r, const uint8_t *bytes, uint32_t len);
void nl_run_free(NlRun *r);

/* The `loss` command: evaluates the loss named in `params` (a config string
   with loss=... and its parameters, e.g. "loss=nce+rce&alpha=1&beta=1") on
   B x K logits and labels, writes dL/dlogits (B x K) into grad and returns 0
   with the mean loss in *loss. counts (ncounts = K entries, or NULL and 0):
   the training count of each class, which cb-ce and cb-focal need (others
   ignore them). seed: the triplet loss samples its triplets from
   rng_init(seed, STREAM_LOSS); others ignore it. */
int nl_loss_eval(const char *params, const float *logits, const int32_t *labels, int B, int K,
                 float *grad, float *loss, const int32_t *counts, int ncounts, uint32_t seed);
/* the resolved parameters of the loss in `params` as JSON (loss_params_json),
   e.g. {"loss":"sce","alpha":0.1,"beta":1}; NULL with an error */
const char *nl_loss_params(const char *params);

/* ---- dataset preparation (wasm/data.c; used by datasets/prepare.mjs).
   A builder holds one shard in its final layout; the put functions fill
   images/labels [first, first+count) from raw file bytes (gzip'd IDX, a
   ConvNetJS sprite PNG with one image per row, CIFAR-10 binary records) and
   return count, or -1 with an error naming `name`. finish refuses a shard with
   any image or label missing; its bytes belong to the builder. */
typedef struct NlShardBuilder NlShardBuilder;
NlShardBuilder *nl_shard_new(int n, int c, int h, int w, int classes, const char *name);
int nl_shard_put_idx_images(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                            const char *name);
int nl_shard_put_idx_labels(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                            const char *name);
int nl_shard_put_png_rows(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                          const char *name);
int nl_shard_put_cifar_bin(NlShardBuilder *b, int first, const uint8_t *buf, uint32_t len, int count,
                           const char *name);
int nl_shard_put_labels(NlShardBuilder *b, int first, const uint8_t *labels, int count, const char *name);
const uint8_t *nl_shard_finish(NlShardBuilder *b, uint32_t *out_len);
void nl_shard_free(NlShardBuilder *b);
/* header of a shard: out[0..4] = n, c, h, w, classes */
int nl_shard_info(const uint8_t *buf, uint32_t len, const char *name, int32_t *out);

/* ---- the web lab (wasm/web.c) */
/* the synth dataset's split 0 (train) or 1 (test) as shard bytes (valid until the next call) */
const uint8_t *nl_synth_shard(int split, uint32_t *len);
/* the class names of a dataset the core knows, as a JSON array ([] when unknown) */
const char *nl_class_names_json(const char *dataset);

/* ---- graph tools (wasm/graph.c): EDA and k-hop subsets of a graph, shared by the
   `eda` and `graph-subset` commands and the page's "Explore graph" panel.
       NlGraph *g = nl_graph_new();
       nl_graph_add_file(g, "aifb_stripped.nt.gz", bytes, n);  // every file under its own name
       nl_graph_load(g, "rgcn", "aifb");   // format: planetoid | rgcn | kgbench | bundle
       puts(nl_graph_eda_json(g));         // core/eda.h
       bytes = nl_graph_subset(g, 2, 5000, 0, &len);  // a bundle (core/bundle.h), core/subgraph.h
       nl_graph_free(g);
   Files named as in the dataset folder: ind.<name>.<part> (planetoid); <name>_stripped.nt.gz,
   trainingSet.tsv, testSet.tsv (rgcn: aifb, mutag); triples.int.csv(.gz), nodes.int.csv,
   relations.int.csv, training/validation/testing.int.csv (kgbench); any one file (bundle). */
typedef struct NlGraph NlGraph;
NlGraph *nl_graph_new(void);
int nl_graph_add_file(NlGraph *g, const char *name, const uint8_t *bytes, uint32_t len);
/* the same without a copy: bytes come from malloc and belong to g from then on (even on
   failure). The loader uses it, so a 600 MB nodes.int.csv is not held twice. */
int nl_graph_adopt_file(NlGraph *g, const char *name, uint8_t *bytes, uint32_t len);
int nl_graph_load(NlGraph *g, const char *format, const char *name);
const char *nl_graph_eda_json(NlGraph *g);
/* a bundle of the k-hop subgraph (valid until the next call on g); NULL with an error */
const uint8_t *nl_graph_subset(NlGraph *g, int hops, int max_nodes, uint32_t seed, uint32_t *len);
/* the manifest JSON of the last subset, or of the loaded bundle ("{}" otherwise) */
const char *nl_graph_manifest(NlGraph *g);
void nl_graph_free(NlGraph *g);

#endif
