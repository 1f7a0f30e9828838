/* subgraph.c: k-hop subgraph extraction around the labelled nodes. See subgraph.h. */
#include "subgraph.h"

#include "err.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

enum { FREE = -2, CAND = -3 }; /* stage of a node not taken / a candidate of the current hop */

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* takes k of the n ids in c (sorted ascending on entry): all if k >= n, else a uniform
   random subset (partial Fisher-Yates), sorted again. Returns the number taken. */
static int pick(Rng *r, int *c, int n, int k) {
    if (k >= n) return n;
    for (int i = 0; i < k; i++) {
        int j = i + (int)rng_below(r, (uint32_t)(n - i));
        int t = c[i];
        c[i] = c[j], c[j] = t;
    }
    qsort(c, (size_t)k, sizeof *c, cmp_int);
    return k;
}

static char **copy_names(char **v, int n) {
    char **d = calloc((size_t)n + 1, sizeof *d);
    if (!d) return NULL;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        if (!(d[i] = malloc(len))) {
            for (int k = 0; k < i; k++) free(d[k]);
            free(d);
            return NULL;
        }
        memcpy(d[i], v[i], len);
    }
    return d;
}

/* the KG of the nodes with newid >= 0 (ascending original id), or -1 out of memory */
static int build(const KG *g, const int *newid, int n_new, const int *orig, KG *o) {
    memset(o, 0, sizeof *o);
    long kept = 0;
    for (int t = 0; t < g->n_tri; t++) kept += newid[g->s[t]] >= 0 && newid[g->o[t]] >= 0;
    if (kept == 0)
        return nl_fail("subgraph: none of the %d triples joins two of the %d chosen nodes. Hint: raise --hops "
                       "or --max-nodes so that the labelled nodes get neighbours.",
                       g->n_tri, n_new);
    size_t text = 0;
    for (int i = 0; i < n_new; i++) text += strlen(kg_text(g, orig[i])) + 1;
    o->n_nodes = n_new;
    o->n_base_rel = g->n_base_rel, o->n_rel = g->n_rel;
    o->n_tri = (int)kept;
    o->s = malloc((size_t)kept * sizeof *o->s);
    o->p = malloc((size_t)kept * sizeof *o->p);
    o->o = malloc((size_t)kept * sizeof *o->o);
    o->kind = malloc((size_t)n_new);
    o->dtype = malloc((size_t)n_new * sizeof *o->dtype);
    o->text_off = malloc((size_t)n_new * sizeof *o->text_off);
    o->text = malloc(text);
    o->label = malloc((size_t)n_new * sizeof *o->label);
    o->split = malloc((size_t)n_new);
    o->n_dtypes = g->n_dtypes, o->n_classes = g->n_classes;
    o->dtypes = copy_names(g->dtypes, g->n_dtypes);
    o->rel_names = copy_names(g->rel_names, g->n_base_rel);
    o->class_names = copy_names(g->class_names, g->n_classes);
    if (!o->s || !o->p || !o->o || !o->kind || !o->dtype || !o->text_off || !o->text || !o->label || !o->split ||
        !o->dtypes || !o->rel_names || !o->class_names) {
        kg_free(o);
        return nl_fail("subgraph: out of memory for %d nodes and %ld triples. Hint: use a smaller --max-nodes.",
                       n_new, kept);
    }
    /* newid is monotonic, so the (p, s, o) order of g's triples carries over */
    int m = 0;
    for (int t = 0; t < g->n_tri; t++) {
        int s = newid[g->s[t]], d = newid[g->o[t]];
        if (s < 0 || d < 0) continue;
        o->s[m] = s, o->p[m] = g->p[t], o->o[m] = d;
        m++;
    }
    size_t off = 0;
    for (int i = 0; i < n_new; i++) {
        int v = orig[i];
        const char *t = kg_text(g, v);
        size_t len = strlen(t) + 1;
        memcpy(o->text + off, t, len);
        o->text_off[i] = off;
        off += len;
        o->kind[i] = g->kind[v];
        o->dtype[i] = g->dtype[v];
        o->label[i] = g->label[v];
        o->split[i] = g->split[v];
        o->n_split[g->split[v]]++;
    }
    return 0;
}

int kg_subgraph(const KG *g, int hops, int max_nodes, uint64_t seed, KG *out, int **orig_out, int **stage_out,
                SubReport *rep) {
    memset(out, 0, sizeof *out);
    *orig_out = NULL;
    if (stage_out) *stage_out = NULL;
    memset(rep, 0, sizeof *rep);
    rep->hops = hops, rep->max_nodes = max_nodes, rep->seed = seed;
    if (hops < 0) return nl_fail("subgraph: hops is %d. Hint: give 0 or more hops (0 keeps the labelled nodes and the random fill).", hops);
    if (max_nodes < 1) return nl_fail("subgraph: max_nodes is %d. Hint: give a positive node budget, e.g. --max-nodes 5000.", max_nodes);
    int n = g->n_nodes;
    if (n <= 0 || g->n_tri <= 0)
        return nl_fail("subgraph: the graph is empty (%d nodes, %d triples). Hint: load a dataset with triples first.", n,
                       g->n_tri);
    int L = 0;
    for (int i = 0; i < n; i++) L += g->label[i] >= 0;
    if (L == 0) return nl_fail("subgraph: the graph has no labelled node to start from. Hint: load the dataset with its splits.");
    if (max_nodes < L)
        return nl_fail("subgraph: max_nodes %d is smaller than the %d labelled nodes, which are always kept. Hint: "
                       "use --max-nodes %d or more.",
                       max_nodes, L, L);
    int cap = max_nodes < n ? max_nodes : n;

    /* the undirected adjacency: row v lists the other end of every triple at v */
    size_t m2 = 2 * (size_t)g->n_tri;
    size_t *row = calloc((size_t)n + 1, sizeof *row);
    int *adj = malloc((m2 + 1) * sizeof *adj);
    int *stage = malloc((size_t)n * sizeof *stage);
    int *list = malloc(((size_t)n + 1) * sizeof *list); /* frontier, then candidates, after it */
    int *newid = malloc((size_t)n * sizeof *newid);
    int *orig = malloc(((size_t)cap + 1) * sizeof *orig);
    int rc = -1;
    if (!row || !adj || !stage || !list || !newid || !orig) {
        nl_fail("subgraph: out of memory for a graph of %d nodes and %d triples. Hint: the graph is too large for "
                "this machine or tab.", n, g->n_tri);
        goto done;
    }
    for (int t = 0; t < g->n_tri; t++) row[g->s[t] + 1]++, row[g->o[t] + 1]++;
    for (int v = 0; v < n; v++) row[v + 1] += row[v];
    for (int t = 0; t < g->n_tri; t++) adj[row[g->s[t]]++] = g->o[t], adj[row[g->o[t]]++] = g->s[t];
    for (int v = n; v > 0; v--) row[v] = row[v - 1]; /* the fill above moved each start to the next row's */
    row[0] = 0;

    Rng rng;
    rng_init(&rng, seed, STREAM_SUBGRAPH);
    int taken = 0, nf = 0; /* list[0..nf) is the frontier */
    for (int v = 0; v < n; v++) {
        stage[v] = g->label[v] >= 0 ? 0 : FREE;
        if (!stage[v]) list[nf++] = v;
    }
    taken = rep->n_labelled = L;
    for (int h = 1; h <= hops && taken < cap && nf > 0; h++) {
        int *cand = list + nf, nc = 0; /* candidates are not taken, so nf + nc <= n */
        for (int i = 0; i < nf; i++)
            for (size_t k = row[list[i]]; k < row[list[i] + 1]; k++)
                if (stage[adj[k]] == FREE) stage[adj[k]] = CAND, cand[nc++] = adj[k];
        if (nc == 0) break;
        qsort(cand, (size_t)nc, sizeof *cand, cmp_int);
        int room = cap - taken, got = pick(&rng, cand, nc, room);
        if (got < nc) rep->capped_hop = h;
        for (int i = 0; i < nc; i++) stage[cand[i]] = i < got ? h : FREE;
        memmove(list, cand, (size_t)got * sizeof *list);
        nf = got;
        taken += got;
        rep->n_hops += got;
        rep->last_hop = h;
    }
    if (taken < cap) { /* the random fill, among every node not taken */
        int nfree = 0;
        for (int v = 0; v < n; v++)
            if (stage[v] == FREE) list[nfree++] = v;
        int got = pick(&rng, list, nfree, cap - taken);
        for (int i = 0; i < got; i++) stage[list[i]] = -1;
        taken += got;
        rep->n_fill = got;
    }
    int k = 0;
    for (int v = 0; v < n; v++) {
        newid[v] = stage[v] == FREE ? -1 : k;
        if (stage[v] != FREE) orig[k++] = v;
    }
    if (build(g, newid, k, orig, out)) goto done;
    if (stage_out) {
        int *st = malloc(((size_t)k + 1) * sizeof *st);
        if (!st) {
            kg_free(out);
            nl_fail("subgraph: out of memory. Hint: use a smaller --max-nodes.");
            goto done;
        }
        for (int i = 0; i < k; i++) st[i] = stage[orig[i]];
        *stage_out = st;
    }
    *orig_out = orig;
    orig = NULL;
    rc = 0;
done:
    free(row);
    free(adj);
    free(stage);
    free(list);
    free(newid);
    free(orig);
    return rc;
}
