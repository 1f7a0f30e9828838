/* graph.c: the graph tools of the C API (noisylab.h, names in wasm/graph.exports): a graph
   loaded from its files by name, its EDA (core/eda.h) and k-hop subsets written as a bundle
   (core/subgraph.h, core/bundle.h). Thin: the logic is in core/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/bundle.h"
#include "../core/eda.h"
#include "../core/err.h"
#include "../core/kg.h"
#include "../core/planetoid.h"
#include "../core/subgraph.h"
#include "noisylab.h"

#define MAX_FILES 16

struct NlGraph {
    char *name[MAX_FILES];
    uint8_t *buf[MAX_FILES];
    size_t len[MAX_FILES];
    int n_files;
    char source[64];
    int loaded; /* 0 none, 1 KG, 2 Planetoid */
    KG kg;
    int *orig;  /* a bundle's mapping to its source, or NULL */
    Planetoid pl;
    char *json, *manifest;
    uint8_t *out;
};

NlGraph *nl_graph_new(void) {
    NlGraph *g = calloc(1, sizeof *g);
    if (!g) nl_fail("graph: out of memory. Hint: close other tabs or programs.");
    return g;
}

static void unload(NlGraph *g) {
    if (g->loaded == 1) kg_free(&g->kg);
    if (g->loaded == 2) planetoid_free(&g->pl);
    free(g->orig), free(g->json), free(g->manifest), free(g->out);
    g->orig = NULL, g->json = g->manifest = NULL, g->out = NULL;
    g->loaded = 0;
}

static void drop_files(NlGraph *g) {
    for (int i = 0; i < g->n_files; i++) free(g->name[i]), free(g->buf[i]);
    g->n_files = 0;
}

void nl_graph_free(NlGraph *g) {
    if (!g) return;
    unload(g);
    drop_files(g);
    free(g);
}

/* keeps bytes (malloc'd, now the graph's) under name; on failure frees them */
int nl_graph_adopt_file(NlGraph *g, const char *name, uint8_t *bytes, uint32_t len) {
    if (g->n_files >= MAX_FILES) {
        free(bytes);
        return nl_fail("graph: more than %d files. Hint: add only the dataset's own files.", MAX_FILES);
    }
    size_t n = strlen(name) + 1;
    char *nm = malloc(n);
    if (!nm) {
        free(bytes);
        return nl_fail("graph: out of memory for %s (%u bytes). Hint: the dataset is too large for this tab.", name, len);
    }
    memcpy(nm, name, n);
    g->name[g->n_files] = nm, g->buf[g->n_files] = bytes, g->len[g->n_files] = len;
    g->n_files++;
    return 0;
}

int nl_graph_add_file(NlGraph *g, const char *name, const uint8_t *bytes, uint32_t len) {
    uint8_t *b = malloc(len ? len : 1);
    if (!b) return nl_fail("graph: out of memory for %s (%u bytes). Hint: the dataset is too large for this tab.", name, len);
    if (len) memcpy(b, bytes, len);
    return nl_graph_adopt_file(g, name, b, len);
}

/* the file called name, or an empty KgFile (buf NULL) */
static KgFile file(const NlGraph *g, const char *name) {
    for (int i = 0; i < g->n_files; i++)
        if (!strcmp(g->name[i], name)) return (KgFile){g->buf[i], g->len[i], g->name[i]};
    return (KgFile){NULL, 0, name};
}

static int need(KgFile f, const char *format, const char *source) {
    if (f.buf) return 0;
    return nl_fail("graph %s: the file %s was not given. Hint: a %s graph needs all of its files, each added "
                   "under its own name.", source, f.what, format);
}

int nl_graph_load(NlGraph *g, const char *format, const char *name) {
    unload(g);
    snprintf(g->source, sizeof g->source, "%s", name && *name ? name : "graph");
    int rc = -1;
    if (!strcmp(format, "bundle")) {
        if (g->n_files != 1)
            return nl_fail("graph: a bundle is one file (%d given). Hint: give the file written by graph-subset.", g->n_files);
        rc = kg_bundle_read(g->buf[0], g->len[0], g->name[0], &g->kg, &g->orig, &g->manifest);
        if (!rc) g->loaded = 1;
    } else if (!strcmp(format, "kgbench")) {
        KgFile t = file(g, "triples.int.csv.gz");
        if (!t.buf) t = file(g, "triples.int.csv");
        KgFile n = file(g, "nodes.int.csv"), r = file(g, "relations.int.csv"), tr = file(g, "training.int.csv"),
               va = file(g, "validation.int.csv"), te = file(g, "testing.int.csv");
        if (need(t, format, g->source) || need(n, format, g->source) || need(r, format, g->source) ||
            need(tr, format, g->source) || need(te, format, g->source))
            return -1;
        rc = kg_read_kgbench(&g->kg, t, n, r, tr, va, te);
        if (!rc) g->loaded = 1;
    } else if (!strcmp(format, "rgcn")) {
        const char *const *drop, *ent, *label;
        int n_drop;
        if (kg_rgcn_info(g->source, &drop, &n_drop, &ent, &label) < 0)
            return nl_fail("graph: '%s' is not an R-GCN dataset this core knows. Hint: use aifb or mutag.", g->source);
        char nt[96];
        snprintf(nt, sizeof nt, "%s_stripped.nt.gz", g->source);
        KgFile f = file(g, nt), tr = file(g, "trainingSet.tsv"), te = file(g, "testSet.tsv");
        if (need(f, format, g->source) || need(tr, format, g->source) || need(te, format, g->source)) return -1;
        KgFile none = {NULL, 0, "validation"};
        rc = kg_read_ntriples(&g->kg, f, drop, n_drop, tr, none, te, ent, label);
        if (!rc) g->loaded = 1;
    } else if (!strcmp(format, "planetoid")) {
        const uint8_t *b[PL_FILES];
        size_t l[PL_FILES];
        for (int p = 0; p < PL_FILES; p++) {
            char fn[96];
            snprintf(fn, sizeof fn, "ind.%s.%s", g->source, planetoid_parts[p]);
            KgFile f = file(g, fn);
            if (need(f, format, g->source)) return -1;
            b[p] = f.buf, l[p] = f.len;
        }
        rc = planetoid_load(&g->pl, g->source, b, l);
        if (!rc) g->loaded = 2;
    } else {
        return nl_fail("graph: unknown format '%s'. Hint: use planetoid, rgcn, kgbench or bundle.", format);
    }
    drop_files(g); /* the graph holds what it needs */
    return rc;
}

static int loaded(const NlGraph *g) {
    return g->loaded ? 0 : nl_fail("graph: no graph is loaded. Hint: call nl_graph_load first; a failed load leaves none.");
}

const char *nl_graph_eda_json(NlGraph *g) {
    if (loaded(g)) return NULL;
    Eda e;
    if (g->loaded == 1 ? eda_kg(&g->kg, &e) : eda_planetoid(&g->pl, &e)) return NULL;
    free(g->json);
    g->json = eda_json(&e, g->source);
    eda_free(&e);
    return g->json;
}

const uint8_t *nl_graph_subset(NlGraph *g, int hops, int max_nodes, uint32_t seed, uint32_t *len) {
    if (loaded(g)) return NULL;
    if (g->loaded == 2) {
        nl_fail("graph-subset: %s is a Planetoid citation graph, not a knowledge graph. Hint: graph-subset takes "
                "aifb, mutag, a kgbench folder or a bundle.", g->source);
        return NULL;
    }
    KG sub;
    int *orig = NULL;
    SubReport r;
    if (kg_subgraph(&g->kg, hops, max_nodes, seed, &sub, &orig, NULL, &r)) return NULL;
    if (g->orig) /* a bundle's subset maps back to the bundle's own source */
        for (int i = 0; i < sub.n_nodes; i++) orig[i] = g->orig[orig[i]];
    int lab = 0;
    for (int i = 0; i < sub.n_nodes; i++) lab += sub.label[i] >= 0;
    char src[64], m[1024]; /* the source name goes into JSON: keep it to safe characters */
    for (size_t i = 0; i < sizeof src; i++) {
        char c = g->source[i];
        src[i] = !c ? 0 : (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ? c : '_';
        if (!c) break;
    }
    snprintf(m, sizeof m,
             "{\"format\":\"noisylab-kg-bundle\",\"version\":%d,\"source\":\"%s\",\"hops\":%d,\"max_nodes\":%d,"
             "\"seed\":%u,\"nodes\":%d,\"triples\":%d,\"relations\":%d,\"labelled\":%d,\"from_labelled\":%d,"
             "\"from_hops\":%d,\"from_fill\":%d,\"last_hop\":%d,\"capped_hop\":%d,\"source_nodes\":%d,"
             "\"source_triples\":%d,\"mapping\":\"mapping.int.csv\"}",
             KGB_VERSION, src, hops, max_nodes, seed, sub.n_nodes, sub.n_tri, sub.n_base_rel, lab,
             r.n_labelled, r.n_hops, r.n_fill, r.last_hop, r.capped_hop, g->kg.n_nodes, g->kg.n_tri);
    uint8_t *out = NULL;
    size_t n = 0;
    int rc = kg_bundle_write(&sub, orig, m, &out, &n);
    kg_free(&sub);
    free(orig);
    if (rc) return NULL;
    if (n > 0xFFFFFFFFu) {
        free(out);
        nl_fail("graph-subset: the bundle would be %zu bytes, more than 4 GB. Hint: use a smaller --max-nodes.", n);
        return NULL;
    }
    free(g->out), free(g->manifest);
    g->out = out;
    g->manifest = malloc(strlen(m) + 1);
    if (g->manifest) memcpy(g->manifest, m, strlen(m) + 1);
    *len = (uint32_t)n;
    return out;
}

const char *nl_graph_manifest(NlGraph *g) { return g->manifest ? g->manifest : "{}"; }
