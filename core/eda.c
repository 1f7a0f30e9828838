/* eda.c: exploratory statistics of a graph. See eda.h for the definitions. */
#include "eda.h"

#include "err.h"
#include "graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int oom(void) { return nl_fail("eda: out of memory. Hint: the graph is too large for this machine or tab."); }

/* ---- union-find with path halving and union by size */
static int find(int *parent, int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* the statistics every source shares, from an edge list (rel NULL: one relation) */
static int eda_core(Eda *e, int n, long m, const int *src, const int *dst, const int *rel, const int *label,
                    const uint8_t *split) {
    int rc = -1;
    int *deg = calloc((size_t)n + 1, sizeof *deg), *parent = malloc(((size_t)n + 1) * sizeof *parent);
    int *size = malloc(((size_t)n + 1) * sizeof *size), *cnt = NULL, *adj = NULL, *stamp = NULL, *cls = NULL;
    long *relc = calloc((size_t)e->n_rel + 1, sizeof *relc), *row = NULL;
    long long *pairs = NULL;
    e->label_counts = calloc(4 * ((size_t)e->n_classes + 1), sizeof *e->label_counts);
    if (!deg || !parent || !size || !relc || !e->label_counts) goto fail;

    /* degrees, relations, self loops, components */
    for (int v = 0; v < n; v++) parent[v] = v, size[v] = 1;
    e->components = n;
    for (long k = 0; k < m; k++) {
        int a = src[k], b = dst[k];
        deg[a]++, deg[b]++;
        relc[rel ? rel[k] : 0]++;
        e->self_loops += a == b;
        int ra = find(parent, a), rb = find(parent, b);
        if (ra == rb) continue;
        if (size[ra] < size[rb]) { int t = ra; ra = rb; rb = t; }
        parent[rb] = ra, size[ra] += size[rb];
        e->components--;
    }
    e->deg_min = n ? deg[0] : 0;
    long sum = 0;
    for (int v = 0; v < n; v++) {
        int d = deg[v], b = 0;
        while (b < EDA_BINS - 1 && (long long)d >= 1LL << b) b++; /* d = 0: bin 0; 2^(b-1) <= d < 2^b: bin b */
        e->deg_hist[b]++;
        if (b + 1 > e->deg_bins) e->deg_bins = b + 1;
        if (d < e->deg_min) e->deg_min = d;
        if (d > e->deg_max) e->deg_max = d;
        e->isolated += d == 0;
        sum += d;
    }
    e->deg_mean = n ? (double)sum / n : 0;
    /* the median (lower middle) by counting: linear, and deg_max <= 2m */
    if (!(cnt = calloc((size_t)e->deg_max + 1, sizeof *cnt))) goto fail;
    for (int v = 0; v < n; v++) cnt[deg[v]]++;
    for (int d = 0, seen = 0; d <= e->deg_max; d++)
        if ((seen += cnt[d]) >= (n + 1) / 2) { e->deg_median = d; break; }

    /* the most frequent relations: counts descending, then id */
    for (int r = 0; r < e->n_rel; r++) {
        if (!relc[r]) continue;
        e->rel_used++;
        int at = e->top_n < EDA_TOP ? e->top_n++ : EDA_TOP;
        while (at > 0 && relc[e->top_rel[at - 1]] < relc[r]) {
            if (at < EDA_TOP) e->top_rel[at] = e->top_rel[at - 1];
            at--;
        }
        if (at < EDA_TOP) e->top_rel[at] = r;
    }
    for (int i = 0; i < e->top_n; i++) e->top_count[i] = relc[e->top_rel[i]];

    /* labels and the largest component */
    int big = 0;
    for (int v = 0; v < n; v++) {
        int r = find(parent, v);
        if (size[r] > e->largest) e->largest = size[r], big = r;
        e->singletons += r == v && size[r] == 1;
    }
    for (int v = 0; v < n; v++) {
        if (label[v] < 0 || label[v] >= e->n_classes) { e->unlabelled++; continue; }
        e->labelled++;
        e->label_counts[(size_t)(split[v] & 3) * e->n_classes + label[v]]++;
        e->labelled_in_largest += find(parent, v) == big;
    }
    if (e->labelled > 1) {
        double s = 0, L = e->labelled;
        for (int c = 0; c < e->n_classes; c++) {
            double k = 0;
            for (int sp = 0; sp < 4; sp++) k += e->label_counts[(size_t)sp * e->n_classes + c];
            s += k * (k - 1);
        }
        e->chance = s / (L * (L - 1));
    }

    /* edge homophily: the distinct unordered labelled pairs, sorted and deduplicated */
    long np = 0;
    for (long k = 0; k < m; k++) np += src[k] != dst[k] && label[src[k]] >= 0 && label[dst[k]] >= 0;
    if (!(pairs = malloc(((size_t)np + 1) * sizeof *pairs))) goto fail;
    np = 0;
    for (long k = 0; k < m; k++) {
        int a = src[k], b = dst[k];
        if (a == b || label[a] < 0 || label[b] < 0) continue;
        if (a > b) { int t = a; a = b; b = t; }
        pairs[np++] = (long long)a * n + b;
    }
    qsort(pairs, (size_t)np, sizeof *pairs, cmp_ll);
    for (long k = 0; k < np; k++) {
        if (k && pairs[k] == pairs[k - 1]) continue;
        e->labelled_pairs++;
        e->same_pairs += label[pairs[k] / n] == label[pairs[k] % n];
    }

    /* 2-hop homophily: per middle node, the class counts of its distinct labelled neighbours */
    row = calloc((size_t)n + 2, sizeof *row);
    adj = malloc((2 * (size_t)m + 1) * sizeof *adj);
    stamp = malloc(((size_t)n + 1) * sizeof *stamp);
    cls = calloc((size_t)e->n_classes + 1, sizeof *cls);
    if (!row || !adj || !stamp || !cls) goto fail;
    for (long k = 0; k < m; k++) row[src[k] + 2]++, row[dst[k] + 2]++;
    for (int v = 0; v < n; v++) row[v + 2] += row[v + 1];
    for (long k = 0; k < m; k++) adj[row[src[k] + 1]++] = dst[k], adj[row[dst[k] + 1]++] = src[k];
    for (int v = 0; v < n; v++) stamp[v] = -1;
    for (int v = 0; v < n; v++) {
        long L = 0;
        for (long k = row[v]; k < row[v + 1]; k++) {
            int u = adj[k];
            if (u == v || stamp[u] == v || label[u] < 0 || label[u] >= e->n_classes) continue;
            stamp[u] = v;
            L++;
            e->same_paths2 += cls[label[u]]++; /* pairs with the earlier neighbours of its class */
        }
        e->paths2 += 0.5 * (double)L * (double)(L - 1);
        for (long k = row[v]; k < row[v + 1]; k++)
            if (label[adj[k]] >= 0 && label[adj[k]] < e->n_classes) cls[label[adj[k]]] = 0;
    }
    rc = 0;
fail:
    if (rc) oom();
    free(deg), free(parent), free(size), free(cnt), free(relc), free(pairs), free(row), free(adj), free(stamp), free(cls);
    return rc;
}

int eda_kg(const KG *g, Eda *e) {
    memset(e, 0, sizeof *e);
    if (g->n_nodes <= 0) return nl_fail("eda: the graph is empty. Hint: load a dataset with nodes and triples.");
    e->is_kg = 1;
    e->n_nodes = g->n_nodes;
    e->n_edges = g->n_tri;
    e->n_rel = g->n_base_rel;
    e->rel_names = (const char *const *)g->rel_names;
    e->n_classes = g->n_classes;
    e->class_names = (const char *const *)g->class_names;
    for (int v = 0; v < g->n_nodes; v++) {
        e->kinds[g->kind[v] < 3 ? g->kind[v] : KG_LITERAL]++;
        if (g->kind[v] == KG_LITERAL) e->modality[ft_modality(g->dtypes[g->dtype[v]])]++;
    }
    if (eda_core(e, g->n_nodes, g->n_tri, g->s, g->o, g->p, g->label, g->split)) {
        eda_free(e);
        return -1;
    }
    return 0;
}

int eda_planetoid(const Planetoid *p, Eda *e) {
    memset(e, 0, sizeof *e);
    if (p->n <= 0) return nl_fail("eda: the graph is empty. Hint: load a dataset with nodes and edges.");
    Csr a;
    /* the canonical undirected graph without self loops: each pair {u, v} once as u < v */
    if (csr_from_edges(&a, p->n, p->src, p->dst, p->m, 1, 0)) return -1;
    long m = a.nnz / 2, k = 0;
    int *src = malloc(((size_t)m + 1) * sizeof *src), *dst = malloc(((size_t)m + 1) * sizeof *dst);
    uint8_t *split = calloc((size_t)p->n + 1, 1), *loop = calloc((size_t)p->n + 1, 1);
    int rc = -1;
    if (!src || !dst || !split || !loop) {
        oom();
        goto done;
    }
    for (int u = 0; u < p->n; u++)
        for (int j = a.rowptr[u]; j < a.rowptr[u + 1]; j++)
            if (a.col[j] > u) src[k] = u, dst[k] = a.col[j], k++;
    for (long i = 0; i < p->m; i++)
        if (p->src[i] == p->dst[i]) loop[p->src[i]] = 1;
    for (int i = 0; i < p->ntrain; i++) split[p->train[i]] = KG_TRAIN;
    for (int i = 0; i < p->nval; i++) split[p->val[i]] = KG_VALID;
    for (int i = 0; i < p->ntest; i++) split[p->test[i]] = KG_TEST;
    e->n_nodes = p->n;
    e->n_edges = m;
    e->n_rel = 1;
    e->features = p->F;
    e->n_classes = p->K;
    /* a Planetoid node outside the public split still has a label: count it as labelled
       (it takes part in homophily), in split KG_NONE */
    rc = eda_core(e, p->n, m, src, dst, NULL, p->label, split);
    for (int v = 0; v < p->n; v++) e->self_loops += loop[v];
done:
    csr_free(&a);
    free(src), free(dst), free(split), free(loop);
    if (rc) eda_free(e);
    return rc;
}

void eda_free(Eda *e) {
    free(e->label_counts);
    e->label_counts = NULL;
}

/* ---- JSON */

typedef struct {
    char *b;
    size_t n, cap;
    int bad;
} Out;

static void out(Out *o, const char *fmt, ...) NL_PRINTF(2, 3);
static void out(Out *o, const char *fmt, ...) {
    for (int tries = 0; tries < 2 && !o->bad; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(o->b ? o->b + o->n : NULL, o->b ? o->cap - o->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { o->bad = 1; return; }
        if (o->b && o->n + (size_t)k < o->cap) { o->n += (size_t)k; return; }
        size_t c = o->cap ? o->cap : 4096;
        while (c <= o->n + (size_t)k && c < (size_t)-1 / 2) c *= 2;
        if (c <= o->n + (size_t)k) { o->bad = 1; return; }
        char *q = realloc(o->b, c);
        if (!q) { o->bad = 1; return; }
        o->b = q, o->cap = c;
    }
}

/* a JSON string: quotes, backslashes and control characters escaped; long texts cut */
static void out_str(Out *o, const char *s) {
    out(o, "\"");
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n < 400; p++, n++) {
        if (*p == '"' || *p == '\\') out(o, "\\%c", *p);
        else if (*p < 0x20) out(o, "\\u%04x", *p);
        else out(o, "%c", *p);
    }
    out(o, "\"");
}

static void out_ratio(Out *o, const char *key, double num, double den) {
    if (den > 0) out(o, "\"%s\":%.6f", key, num / den);
    else out(o, "\"%s\":null", key);
}

char *eda_json(const Eda *e, const char *name) {
    Out o = {0};
    out(&o, "{\"name\":");
    out_str(&o, name ? name : "");
    out(&o, ",\"kind\":\"%s\",\"nodes\":%d,\"edges\":%ld,\"self_loops\":%ld,\"relations\":%d,\"relations_used\":%d",
        e->is_kg ? "kg" : "planetoid", e->n_nodes, e->n_edges, e->self_loops, e->n_rel, e->rel_used);
    if (e->is_kg) {
        out(&o, ",\"node_kinds\":{\"iri\":%d,\"blank\":%d,\"literal\":%d},\"literal_modalities\":{", e->kinds[0],
            e->kinds[1], e->kinds[2]);
        for (int m = 1; m < FT_N; m++) out(&o, "%s\"%s\":%d", m > 1 ? "," : "", ft_modality_name(m), e->modality[m]);
        out(&o, "},\"features\":null");
    } else {
        out(&o, ",\"node_kinds\":null,\"literal_modalities\":null,\"features\":%d", e->features);
    }
    out(&o, ",\"degree\":{\"min\":%d,\"max\":%d,\"mean\":%.4f,\"median\":%d,\"isolated\":%d,\"log2_bins\":[",
        e->deg_min, e->deg_max, e->deg_mean, e->deg_median, e->isolated);
    for (int b = 0; b < e->deg_bins; b++)
        out(&o, "%s{\"lo\":%lld,\"hi\":%lld,\"count\":%ld}", b ? "," : "", b ? 1LL << (b - 1) : 0LL, b ? (1LL << b) - 1 : 0LL,
            e->deg_hist[b]);
    out(&o, "]},\"top_relations\":[");
    for (int i = 0; i < e->top_n; i++) {
        out(&o, "%s{\"id\":%d,\"name\":", i ? "," : "", e->top_rel[i]);
        out_str(&o, e->rel_names ? e->rel_names[e->top_rel[i]] : "cites");
        out(&o, ",\"count\":%ld}", e->top_count[i]);
    }
    out(&o, "],\"classes\":[");
    for (int c = 0; c < e->n_classes; c++) {
        if (c) out(&o, ",");
        if (e->class_names) out_str(&o, e->class_names[c]);
        else out(&o, "\"%d\"", c);
    }
    out(&o, "],\"labels\":{");
    static const char *splits[4] = {"none", "training", "validation", "test"};
    for (int s = 1; s < 4; s++) {
        out(&o, "\"%s\":[", splits[s]);
        for (int c = 0; c < e->n_classes; c++) out(&o, "%s%d", c ? "," : "", e->label_counts[(size_t)s * e->n_classes + c]);
        out(&o, "],");
    }
    out(&o, "\"other\":[");
    for (int c = 0; c < e->n_classes; c++) out(&o, "%s%d", c ? "," : "", e->label_counts[c]);
    out(&o, "],\"labelled\":%d,\"unlabelled\":%d},", e->labelled, e->unlabelled);
    out(&o, "\"components\":{\"count\":%d,\"largest\":%d,\"singletons\":%d,\"labelled_in_largest\":%d},",
        e->components, e->largest, e->singletons, e->labelled_in_largest);
    out(&o, "\"homophily\":{");
    out_ratio(&o, "edge", (double)e->same_pairs, (double)e->labelled_pairs);
    out(&o, ",\"labelled_pairs\":%ld,\"same_label_pairs\":%ld,", e->labelled_pairs, e->same_pairs);
    out_ratio(&o, "two_hop", e->same_paths2, e->paths2);
    out(&o, ",\"two_hop_paths\":%.0f,", e->paths2);
    out_ratio(&o, "chance", e->chance, e->labelled > 1 ? 1 : 0);
    out(&o, "}}");
    if (o.bad) {
        free(o.b);
        oom();
        return NULL;
    }
    return o.b;
}
