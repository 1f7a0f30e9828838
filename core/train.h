/* train.h: one training run, driven step by step.

   The caller (Web Worker, Node CLI, native driver, tests) creates a run from
   a config string, hands it the dataset shards (none for dataset=synth), then
   calls run_step repeatedly. Each call trains at most `max_steps` batches and
   returns at an epoch boundary, so the caller stays in control: it can
   report progress, pause (just stop calling), or cancel (run_free) between
   calls. Wall-clock time is measured by the caller: the core has no clock,
   which keeps it deterministic and free of platform imports.

   Determinism: the split, initialisation, batch order, dropout and
   augmentation each draw from their own stream of the config's seed.
   Metrics are computed in a fixed order, so the same config and the same
   build give bit-identical metrics.

   Class subsets (config key classes=a,b,...; image datasets only): the split
   draws its permutations of the whole training and test sets as without a
   subset, then keeps the images of the listed classes in that order, so
   train, test and val count images of the kept classes. Labels become 0..k-1
   in the listed order (train_set.classes = k: the model has k outputs, and
   loss, metrics, confusion matrix and class names have k classes); dropped
   images keep their place in the dataset with label -1 and belong to no
   subset, so image indices (galleries) stay those of the shard. The pixel
   normalisation stays that of the whole training set. Imbalance then ranks
   the k kept classes in the listed order (rho = first / last), and noise
   works on the k labels: sym, sym-incl and pair over the k classes, custom
   needs a k x k matrix, asym keeps the preset's pairs between kept classes
   and refuses a kept class whose target is dropped (noise.h).

   Graph runs (dataset=cora|citeseer with model=gcn|sage|gat, and the knowledge
   graphs dataset=aifb|mutag|aifb-kgbench|mmlkg-synthetic with model=rgcn|mrgcn) go through the
   same Run and the same calls, so the CLI, the native driver and the page
   drive them unchanged; a branch at the top of each public function sends
   them to the graph half of train.c, which reuses everything that is not
   about images: the split bookkeeping (train/val/test node ids in
   train_idx/val_idx/test_idx, labels in train_set.labels with
   train_set.n = nodes, c = features, h = w = 1), class imbalance and label
   noise on the training (and validation) nodes (noise.h), every loss
   (loss.h), the Model arena with optim_step and clip_grad_norm, early
   stopping with the best weights restored, checkpoints, and the end-of-run
   metrics (confusion, F1, AUCs, a t-SNE of the hidden layer of the test nodes).
     - Data: run_add_shard takes the eight raw Planetoid files, each named
       "...ind.<dataset>.<part>" (the split argument must be 0), and
       run_start reads them with planetoid.h: no preparation step, and the
       page can hand over the same files. Graphs are small (under 1.5 MB).
     - Knowledge graphs come the same way, as their raw files under their own names
       (kg.h): aifb/mutag "<name>_stripped.nt.gz", "trainingSet.tsv", "testSet.tsv"
       (no validation split: keep patience=0 and report the last epoch); the kgbench
       folders "triples.int.csv(.gz)", "nodes.int.csv", "relations.int.csv",
       "training.int.csv", "validation.int.csv" (optional), "testing.int.csv".
       mrgcn featurises the literals once at run_start (featurise.h).
     - dataset=bundle: one file written by `noisylab graph-subset` (bundle.h), added
       under any name; its magic is checked when it is added, the rest at run_start.
       The result JSON echoes its manifest (source, hops, max_nodes, seed, sizes) under
       dataset.bundle, so a result says what graph it was trained on.
     - Subsets (config keys hops, max_nodes > 0): run_start replaces the graph by
       kg_subgraph(graph, hops, max_nodes, seed) (subgraph.h, stream STREAM_SUBGRAPH of
       the run's seed), before anything else draws from the seed, so the same string
       gives the same subgraph and the same bits in the CLI and the page; it is the
       same subgraph as `graph-subset --hops H --max-nodes M --seed S`. The split is
       the graph's own (every labelled node is kept); dataset.subset in the result JSON
       gives its size (nodes, triples, labelled, and how many came from hops and fill).
     - One step is one full-batch epoch: a training-mode forward over the
       whole graph, the loss over the labelled training nodes only (nodes
       outside train_idx contribute nothing), backward, one optimizer step;
       then one eval-mode forward gives the validation and test metrics.
       steps_per_epoch = 1; batch, eval_batch and aug are ignored.
     - Weight decay: gcn and sage decay only the first layer's weights, as
       tkipf/gcn (its L2 loss on the first layer's variables); gat decays
       every parameter, as the GAT code (L2 on all trainable variables); rgcn and
       mrgcn the first layer's (rgcn.h), as tkipf/relational-gcn.
       Either way it is added to the gradient (PyTorch semantics).
     - The gradient check (run_gradcheck_json) checks the loss of all
       training nodes, one entry per parameter tensor ("gcn.weight",
       "gat.att_src", ... with its layer 1 or 2). */
#ifndef NL_TRAIN_H
#define NL_TRAIN_H

#include "config.h"
#include "data.h"
#include "gnn.h"
#include "loss.h"
#include "model.h"
#include "planetoid.h"
#include "rgcn.h"
#include "subgraph.h"

enum { RUN_TRAINING = 0, RUN_EPOCH_END = 1, RUN_DONE = 2, RUN_DIVERGED = 3 };

typedef struct {
    int epoch; /* 1-based */
    float lr, train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, grad_norm;
    float train_acc_clean; /* training accuracy against the clean labels: the memorisation curve */
} EpochStats;

typedef struct {
    Config cfg;
    Dataset train_set, test_set; /* train_set.labels are the GIVEN (possibly noisy) labels */
    int *clean;                  /* the true labels of train_set, kept beside the noisy ones */
    int have_train, have_test, started;
    Norm norm;
    int *train_idx, *val_idx, *test_idx;
    int kept[CONFIG_MAX_CLASSES], nkept; /* classes=...: the dataset class of each label; 0 = all */
    int classes_orig;                    /* the dataset's own number of classes */
    int ntrain, nval, ntest;
    Model model;
    Optim opt;
    Loss loss;
    Rng shuffle_rng, dropout_rng, augment_rng, loss_rng;
    float *centroids; /* triplet: K x K class centroids of the embedding (predict) */
    int crop, flip;
    /* progress */
    int epoch, step, steps_per_epoch, status;
    int *order;
    float *x, *probs, *losses;
    int *y, *yc; /* given and clean labels of the current batch */
    double loss_sum, norm_sum;
    long correct, correct_clean, seen;
    /* label noise and class imbalance of the training subset */
    long *noise_counts; /* K x K, row = true class, column = given label */
    long *class_counts; /* per true class, after imbalance */
    long *given_counts; /* per given label: what class-balanced losses weight by */
    double noise_rate;  /* realised fraction of wrong training labels */
    /* early stopping on validation accuracy (patience > 0) */
    float *best;        /* params and buffers at the best validation epoch */
    float best_val;
    int best_val_epoch, stopped_early;
    char *final_json;   /* end-of-run metrics, built once when the run ends */
    EpochStats *hist;
    char message[512];
    char *json; /* buffer behind the *_json results */
    size_t json_cap;
    uint8_t *ckpt; /* buffer behind run_checkpoint */
    /* graph runs (see above) */
    int graph;
    uint8_t *gfile[PL_FILES]; /* the raw Planetoid files, until run_start */
    size_t glen[PL_FILES];
    Planetoid *pg;
    Gnn *gnn;
    KG *kg;        /* knowledge-graph runs: the graph (its files sit in gfile until run_start) */
    KgNet *net;    /* and the rgcn/mrgcn model (then pg and gnn are NULL) */
    char gname[64];  /* dataset=bundle: the bundle's file name (messages, result JSON) */
    char *manifest;  /* dataset=bundle: its manifest.json (what it was cut from) */
    int subset;      /* max_nodes > 0: the run trains on kg_subgraph of the dataset */
    SubReport sub;   /* and how that subgraph was made */
    int src_nodes, src_tri; /* the graph the subgraph was cut from */
    float wd_first;           /* weight decay of the first layer only (gcn, sage) */
    float *glogits, *gdlogits; /* the logits of a node subset and their gradient */
} Run;

/* parses and validates the config; no data or model yet */
Run *run_new(const char *config);
/* hands over a shard's bytes for split 0 (train) or 1 (test); validates them */
int run_add_shard(Run *r, int split, const uint8_t *buf, size_t len, const char *name);
/* builds the dataset subsets, the model and the optimizer */
int run_start(Run *r);
/* trains up to max_steps batches; returns RUN_* or -1 on error */
int run_step(Run *r, int max_steps);
/* evaluates the model on split 1 (test) or 2 (val): mean loss and accuracy */
void run_evaluate(Run *r, int split, float *loss, float *acc);
const char *run_progress_json(Run *r);
const char *run_epoch_json(Run *r, int epoch);
const char *run_result_json(Run *r);

/* The gradient check of the page: for the run's model and its first training
   batch (up to 8 images, no augmentation, a fixed dropout mask), the analytic
   gradient of sampled parameters of every layer against central finite
   differences. JSON: {"batch","eps","layers":[{"layer","kind","params",
   "checked","max_rel_err","max_abs_err"}],"max_rel_err"}. Leaves the run's
   weights, statistics and generators exactly as they were. */
const char *run_gradcheck_json(Run *r);

/* Checkpoints, taken between epochs: the model arena (parameters, optimizer
   state, batch-norm statistics), the optimizer's step count, the shuffle,
   dropout, augmentation and loss (triplet) generators, the per-epoch history and the
   early-stopping state. A run of the same config that restores it continues
   bit-identically to one that never stopped. The bytes are little-endian and
   begin with the magic "NLCKPT01"; *len receives their size. The buffer
   belongs to the run and stays valid until the next call on it. */
const uint8_t *run_checkpoint(Run *r, size_t *len);
/* restores a checkpoint into a run of the same config (started or not);
   refuses another config, another model or a damaged buffer with a message */
int run_restore(Run *r, const uint8_t *buf, size_t len);
void run_free(Run *r);

#endif
