/* kg.c: the relational graph and its readers (N-Triples + TSV splits, kgbench CSVs).
   See kg.h for the contract. */
#include "kg.h"

#include "err.h"
#include "readers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HINT_NT "check that the file is N-Triples (one '<s> <p> <o> .' per line) and complete"
#define HINT_CSV "check that the file is the dataset's own, complete and unmodified"

/* ---- growable buffers */

/* makes room for need elements; 0 or -1 (out of memory / overflow) */
static int grow(void *pp, size_t *cap, size_t need, size_t elem) {
    void **p = (void **)pp;
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > ((size_t)-1 / 2) / elem) return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int oom(const char *what) {
    return nl_fail("%s: out of memory while reading. Hint: the file is too large for this machine or tab.", what);
}

/* ---- string interner: binary keys, ids in order of first insertion */

typedef struct {
    char *a; /* arena of NUL-terminated keys */
    size_t an, acap;
    size_t *off, *len;
    uint32_t *h;
    int n;
    size_t cap;
    int *slot; /* open addressing, id + 1, 0 = empty */
    size_t nslot;
} Strs;

static uint32_t fnv(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void strs_free(Strs *t) {
    free(t->a);
    free(t->off);
    free(t->len);
    free(t->h);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

static int strs_find(const Strs *t, const char *s, size_t n, uint32_t h) {
    if (!t->nslot) return -1;
    for (size_t i = h & (t->nslot - 1);; i = (i + 1) & (t->nslot - 1)) {
        int id = t->slot[i] - 1;
        if (id < 0) return -1;
        if (t->h[id] == h && t->len[id] == n && memcmp(t->a + t->off[id], s, n) == 0) return id;
    }
}

/* id of the key, added if new; -1 out of memory or too many */
static int strs_add(Strs *t, const char *s, size_t n) {
    uint32_t h = fnv(s, n);
    int id = strs_find(t, s, n, h);
    if (id >= 0) return id;
    if (t->n >= KG_MAX_NODES) return -1;
    if ((size_t)(t->n + 1) * 2 > t->nslot) { /* keep the load under 1/2 */
        size_t ns = t->nslot ? t->nslot * 2 : 1024;
        int *sl = calloc(ns, sizeof *sl);
        if (!sl) return -1;
        for (int k = 0; k < t->n; k++) {
            size_t i = t->h[k] & (ns - 1);
            while (sl[i]) i = (i + 1) & (ns - 1);
            sl[i] = k + 1;
        }
        free(t->slot);
        t->slot = sl;
        t->nslot = ns;
    }
    size_t c1 = t->cap, c2 = t->cap, c3 = t->cap;
    if (grow(&t->off, &c1, (size_t)t->n + 1, sizeof *t->off) || grow(&t->len, &c2, (size_t)t->n + 1, sizeof *t->len) ||
        grow(&t->h, &c3, (size_t)t->n + 1, sizeof *t->h))
        return -1;
    t->cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    if (t->an + n + 1 < t->an || grow(&t->a, &t->acap, t->an + n + 1, 1)) return -1;
    memcpy(t->a + t->an, s, n);
    t->a[t->an + n] = 0;
    id = t->n++;
    t->off[id] = t->an;
    t->len[id] = n;
    t->h[id] = h;
    t->an += n + 1;
    size_t i = h & (t->nslot - 1);
    while (t->slot[i]) i = (i + 1) & (t->nslot - 1);
    t->slot[i] = id + 1;
    return id;
}

/* a malloc'd array of malloc'd copies of the keys (for dtypes, relation and class names) */
static char **strs_export(const Strs *t) {
    char **v = calloc((size_t)t->n + 1, sizeof *v);
    if (!v) return NULL;
    for (int i = 0; i < t->n; i++) {
        v[i] = malloc(t->len[i] + 1);
        if (!v[i]) {
            for (int k = 0; k < i; k++) free(v[k]);
            free(v);
            return NULL;
        }
        memcpy(v[i], t->a + t->off[i], t->len[i] + 1);
    }
    return v;
}

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void free_names(char **v, int n) {
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void kg_free(KG *g) {
    if (!g) return;
    free(g->s);
    free(g->p);
    free(g->o);
    free(g->kind);
    free(g->dtype);
    free(g->text_off);
    free(g->text);
    free_names(g->dtypes, g->n_dtypes);
    free_names(g->rel_names, g->n_base_rel);
    free_names(g->class_names, g->n_classes);
    free(g->label);
    free(g->split);
    memset(g, 0, sizeof *g);
}

int kg_edges(const KG *g, int **src, int **rel, int **dst) {
    size_t n = 2 * (size_t)g->n_tri;
    *src = malloc((n + 1) * sizeof **src);
    *rel = malloc((n + 1) * sizeof **rel);
    *dst = malloc((n + 1) * sizeof **dst);
    if (!*src || !*rel || !*dst) {
        free(*src), free(*rel), free(*dst);
        *src = *rel = *dst = NULL;
        return nl_fail("kg: out of memory for %zu edges. Hint: the graph is too large for this machine or tab.", n);
    }
    for (int i = 0; i < g->n_tri; i++) {
        (*src)[i] = g->s[i], (*rel)[i] = g->p[i], (*dst)[i] = g->o[i];
        (*src)[g->n_tri + i] = g->o[i], (*rel)[g->n_tri + i] = g->p[i] + g->n_base_rel, (*dst)[g->n_tri + i] = g->s[i];
    }
    return (int)n;
}

/* ---- gzip: inflate if the buffer starts with the gzip magic. *owned is the inflated copy. */
static int maybe_gunzip(KgFile *f, uint8_t **owned) {
    *owned = NULL;
    if (f->len >= 2 && f->buf[0] == 0x1f && f->buf[1] == 0x8b) {
        size_t n = 0;
        if (gzip_decode(f->buf, f->len, owned, &n, KG_MAX_BYTES, f->what)) return -1;
        f->buf = *owned;
        f->len = n;
    } else if (f->len > KG_MAX_BYTES) {
        return nl_fail("%s: %zu bytes is more than the %zu a reader accepts. Hint: use a smaller dataset.", f->what,
                       f->len, KG_MAX_BYTES);
    }
    return 0;
}

/* ---- triples: sort by (p, s, o), drop duplicates, remap relations to sorted order */

static int *tri_key; /* qsort has no context argument: the three arrays packed as (p, s, o) */
static int cmp_tri(const void *a, const void *b) {
    const int *x = tri_key + 3 * (size_t)(*(const int *)a), *y = tri_key + 3 * (size_t)(*(const int *)b);
    for (int k = 0; k < 3; k++)
        if (x[k] != y[k]) return x[k] < y[k] ? -1 : 1;
    return 0;
}

/* packed: n triples as (p, s, o); fills g->s/p/o sorted and unique */
static int finish_triples(KG *g, int *packed, int n, const char *what) {
    int *idx = malloc(((size_t)n + 1) * sizeof *idx);
    g->s = malloc(((size_t)n + 1) * sizeof *g->s);
    g->p = malloc(((size_t)n + 1) * sizeof *g->p);
    g->o = malloc(((size_t)n + 1) * sizeof *g->o);
    if (!idx || !g->s || !g->p || !g->o) {
        free(idx);
        return oom(what);
    }
    for (int i = 0; i < n; i++) idx[i] = i;
    tri_key = packed;
    qsort(idx, (size_t)n, sizeof *idx, cmp_tri);
    tri_key = NULL;
    int m = 0;
    for (int i = 0; i < n; i++) {
        const int *t = packed + 3 * (size_t)idx[i];
        if (m && g->p[m - 1] == t[0] && g->s[m - 1] == t[1] && g->o[m - 1] == t[2]) {
            g->dup_tri++;
            continue;
        }
        g->p[m] = t[0], g->s[m] = t[1], g->o[m] = t[2];
        m++;
    }
    free(idx);
    g->n_tri = m;
    return 0;
}

static const char *const *sort_names; /* for sorting relation ids by name */
static int cmp_name(const void *a, const void *b) {
    return strcmp(sort_names[*(const int *)a], sort_names[*(const int *)b]);
}

/* ---- labels */

static int alloc_labels(KG *g, const char *what) {
    g->label = malloc(((size_t)g->n_nodes + 1) * sizeof *g->label);
    g->split = calloc((size_t)g->n_nodes + 1, 1);
    if (!g->label || !g->split) return oom(what);
    for (int i = 0; i < g->n_nodes; i++) g->label[i] = -1;
    return 0;
}

static const char *split_name(int s) { return s == KG_TRAIN ? "training" : s == KG_VALID ? "validation" : "test"; }

static int set_label(KG *g, int node, int cls, int split, const char *what, int line) {
    if (g->split[node])
        return nl_fail("%s line %d: node %d (%.200s) is already in the %s split. Hint: a node may be labelled "
                       "once, in one split; remove the duplicate row.",
                       what, line, node, kg_text(g, node), split_name(g->split[node]));
    g->label[node] = cls;
    g->split[node] = (uint8_t)split;
    g->n_split[split]++;
    return 0;
}

static int check_graph(KG *g, const char *what) {
    if (g->n_tri == 0 || g->n_nodes == 0)
        return nl_fail("%s: the graph is empty (no triples). Hint: check that this is the dataset's triple file "
                       "and that it is not truncated.",
                       what);
    return 0;
}

static int check_labels(KG *g, const char *what) {
    if (g->n_split[KG_TRAIN] == 0)
        return nl_fail("%s: no labelled training node. Hint: check the training split file.", what);
    return 0;
}

/* ======================= N-Triples ======================= */

typedef struct {
    int kind;       /* KG_IRI, KG_BLANK, KG_LITERAL */
    char *t;        /* unescaped text (in the parser's scratch) */
    size_t n;
    char *dt;       /* literal: datatype IRI, "@lang" or "" */
    size_t dn;
} Term;

typedef struct {
    const char *what;
    int line;
    const char *err; /* first problem found on the line */
} NtCtx;

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* appends the UTF-8 of code point u */
static size_t put_utf8(char *o, uint32_t u) {
    if (u < 0x80) return o[0] = (char)u, 1;
    if (u < 0x800) return o[0] = (char)(0xC0 | u >> 6), o[1] = (char)(0x80 | (u & 63)), 2;
    if (u < 0x10000)
        return o[0] = (char)(0xE0 | u >> 12), o[1] = (char)(0x80 | ((u >> 6) & 63)), o[2] = (char)(0x80 | (u & 63)), 3;
    o[0] = (char)(0xF0 | u >> 18), o[1] = (char)(0x80 | ((u >> 12) & 63)), o[2] = (char)(0x80 | ((u >> 6) & 63));
    o[3] = (char)(0x80 | (u & 63));
    return 4;
}

/* reads an escape at *p (just after the backslash) into out; literal: ECHARs allowed.
   An escape is never shorter than its output, so out never outgrows the line. */
static int unescape(const char **p, const char *end, char *out, size_t *on, int literal) {
    if (*p >= end) return -1;
    char c = *(*p)++;
    int nd = c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (nd) {
        if (end - *p < nd) return -1;
        uint32_t u = 0;
        for (int k = 0; k < nd; k++) {
            int h = hexval((uint8_t)(*p)[k]);
            if (h < 0) return -1;
            u = u << 4 | (uint32_t)h;
        }
        if (u > 0x10FFFF) return -1;
        *p += nd;
        *on += put_utf8(out + *on, u);
        return 0;
    }
    if (!literal) return -1;
    const char *from = "tbnrf\"'\\", *to = "\t\b\n\r\f\"'\\";
    const char *q = strchr(from, c);
    if (!q || !c) return -1;
    out[(*on)++] = to[q - from];
    return 0;
}

static void skip_ws(const char **p, const char *end) {
    while (*p < end && (**p == ' ' || **p == '\t')) (*p)++;
}

/* <iri> at *p into out; -1 with ctx->err */
static int nt_iri(const char **p, const char *end, char *out, size_t *on, NtCtx *c) {
    (*p)++; /* '<' */
    *on = 0;
    while (*p < end && **p != '>') {
        uint8_t ch = (uint8_t) * (*p)++;
        if (ch == '\\') {
            if (unescape(p, end, out, on, 0)) return c->err = "an invalid escape in an IRI", -1;
        } else if (ch <= ' ' || ch == '<' || ch == '"' || ch == '{' || ch == '}' || ch == '|' || ch == '`') {
            return c->err = "an invalid character in an IRI", -1;
        } else {
            out[(*on)++] = (char)ch;
        }
    }
    if (*p >= end) return c->err = "an IRI without its closing '>'", -1;
    (*p)++;
    return 0;
}

static int blank_char(uint8_t ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-' || ch == '.' || ch == ':' || ch >= 0x80;
}

/* one term; pos 0 subject, 1 predicate, 2 object */
static int nt_term(const char **p, const char *end, int pos, Term *t, NtCtx *c) {
    skip_ws(p, end);
    if (*p >= end) return c->err = pos == 0 ? "a missing subject" : pos == 1 ? "a missing predicate" : "a missing object", -1;
    char ch = **p;
    t->dn = 0;
    if (ch == '<') {
        t->kind = KG_IRI;
        return nt_iri(p, end, t->t, &t->n, c);
    }
    if (ch == '_' && pos != 1) {
        if (end - *p < 3 || (*p)[1] != ':') return c->err = "a malformed blank node (expected '_:label')", -1;
        const char *s = *p;
        *p += 2;
        while (*p < end && blank_char((uint8_t)**p)) (*p)++;
        while (*p > s + 2 && (*p)[-1] == '.') (*p)--; /* a label never ends with '.' */
        if (*p == s + 2) return c->err = "a blank node without a label", -1;
        t->kind = KG_BLANK;
        t->n = (size_t)(*p - s);
        memcpy(t->t, s, t->n);
        return 0;
    }
    if (ch == '"' && pos == 2) {
        (*p)++;
        t->kind = KG_LITERAL;
        t->n = 0;
        for (;;) {
            if (*p >= end) return c->err = "a literal without its closing quote", -1;
            char d = *(*p)++;
            if (d == '"') break;
            if (d == '\\') {
                if (unescape(p, end, t->t, &t->n, 1)) return c->err = "an invalid escape in a literal", -1;
            } else {
                t->t[t->n++] = d;
            }
        }
        if (end - *p >= 2 && (*p)[0] == '^' && (*p)[1] == '^') {
            *p += 2;
            if (*p >= end || **p != '<') return c->err = "a datatype that is not an <IRI>", -1;
            return nt_iri(p, end, t->dt, &t->dn, c);
        }
        if (*p < end && **p == '@') {
            const char *s = (*p)++;
            while (*p < end && (((**p | 32) >= 'a' && (**p | 32) <= 'z') || **p == '-' || (**p >= '0' && **p <= '9')))
                (*p)++;
            if (*p == s + 1) return c->err = "an empty language tag", -1;
            t->dn = (size_t)(*p - s);
            memcpy(t->dt, s, t->dn);
        }
        return 0;
    }
    return c->err = pos == 1 ? "a predicate that is not an <IRI>" : "a term that is not an <IRI>, _:blank or \"literal\"",
           -1;
}

/* node id of a term (added if new) */
static int nt_node(Strs *nodes, Strs *dts, const Term *t, char **key, size_t *kcap) {
    int dt;
    if (t->kind == KG_IRI) dt = strs_add(dts, "iri", 3);
    else if (t->kind == KG_BLANK) dt = strs_add(dts, "blank_node", 10);
    else dt = strs_add(dts, t->dt, t->dn);
    if (dt < 0) return -1;
    /* key: kind letter, datatype id, ':' then the text; the node's text follows the ':' */
    char head[24];
    int hn = snprintf(head, sizeof head, "%c%d:", "IBL"[t->kind], dt);
    if (grow(key, kcap, (size_t)hn + t->n + 1, 1)) return -1;
    memcpy(*key, head, (size_t)hn);
    memcpy(*key + hn, t->t, t->n);
    return strs_add(nodes, *key, (size_t)hn + t->n);
}

static int is_dropped(const Term *pr, const char *const *drop, int n_drop) {
    for (int i = 0; i < n_drop; i++)
        if (drop[i] && strlen(drop[i]) == pr->n && memcmp(drop[i], pr->t, pr->n) == 0) return 1;
    return 0;
}

/* ---- TSV splits */

/* next line [*b, *e) of buf without its \n and \r; 0 at the end */
static int next_line(const uint8_t *buf, size_t len, size_t *pos, const char **b, const char **e) {
    if (*pos >= len) return 0;
    const char *s = (const char *)buf + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    const char *x = nl ? nl : (const char *)buf + len;
    *pos = (size_t)(x - (const char *)buf) + (nl ? 1 : 0);
    if (x > s && x[-1] == '\r') x--;
    *b = s, *e = x;
    return 1;
}

/* field k of a tab-separated line */
static int tsv_field(const char *b, const char *e, int k, const char **fb, const char **fe) {
    for (int i = 0; i < k; i++) {
        const char *t = memchr(b, '\t', (size_t)(e - b));
        if (!t) return -1;
        b = t + 1;
    }
    const char *t = memchr(b, '\t', (size_t)(e - b));
    *fb = b, *fe = t ? t : e;
    return 0;
}

/* reads one TSV split. classes: the training pass adds class texts, the others look them up
   (sorted index via cls_rank). IRI columns may be written bare or in <>. */
static int read_tsv(KG *g, Strs *nodes, Strs *dts, KgFile f, int split, const char *ent_col, const char *label_col,
                    Strs *classes, const int *cls_rank, char **key, size_t *kcap) {
    if (!f.buf) return 0;
    size_t pos = 0;
    const char *b, *e;
    if (!next_line(f.buf, f.len, &pos, &b, &e))
        return nl_fail("%s: the file is empty. Hint: it should start with a header line naming the columns.", f.what);
    int ce = -1, cl = -1;
    for (int k = 0;; k++) {
        const char *fb, *fe;
        if (tsv_field(b, e, k, &fb, &fe)) break;
        size_t n = (size_t)(fe - fb);
        if (n == strlen(ent_col) && memcmp(fb, ent_col, n) == 0) ce = k;
        if (n == strlen(label_col) && memcmp(fb, label_col, n) == 0) cl = k;
        if (k > 64) break;
    }
    if (ce < 0 || cl < 0)
        return nl_fail("%s line 1: the header has no '%s' column. Hint: the header should name the columns "
                       "'%s' and '%s', tab-separated.",
                       f.what, ce < 0 ? ent_col : label_col, ent_col, label_col);
    int dt_iri = strs_add(dts, "iri", 3);
    if (dt_iri < 0) return oom(f.what);
    int line = 1;
    while (next_line(f.buf, f.len, &pos, &b, &e)) {
        line++;
        if (b == e) continue;
        const char *eb, *ee, *lb, *le;
        if (tsv_field(b, e, ce, &eb, &ee) || tsv_field(b, e, cl, &lb, &le))
            return nl_fail("%s line %d: the row has fewer columns than the header. Hint: %s.", f.what, line, HINT_CSV);
        if (ee - eb >= 2 && eb[0] == '<' && ee[-1] == '>') eb++, ee--;
        if (ee == eb || le == lb)
            return nl_fail("%s line %d: an empty %s. Hint: %s.", f.what, line, ee == eb ? ent_col : label_col,
                           HINT_CSV);
        char head[24];
        int hn = snprintf(head, sizeof head, "I%d:", dt_iri);
        size_t n = (size_t)(ee - eb);
        if (grow(key, kcap, (size_t)hn + n + 1, 1)) return oom(f.what);
        memcpy(*key, head, (size_t)hn);
        memcpy(*key + hn, eb, n);
        int node = strs_find(nodes, *key, (size_t)hn + n, fnv(*key, (size_t)hn + n));
        if (node < 0)
            return nl_fail("%s line %d: the entity %.*s is not in the graph. Hint: the split and the triple file "
                           "must come from the same dataset.",
                           f.what, line, (int)(n > 300 ? 300 : n), eb);
        int c;
        if (split == KG_TRAIN) {
            c = strs_add(classes, lb, (size_t)(le - lb));
            if (c < 0) return oom(f.what);
            if (classes->n > KG_MAX_CLASSES)
                return nl_fail("%s line %d: more than %d classes. Hint: check the label column.", f.what, line,
                               KG_MAX_CLASSES);
        } else {
            c = strs_find(classes, lb, (size_t)(le - lb), fnv(lb, (size_t)(le - lb)));
            if (c < 0)
                return nl_fail("%s line %d: the class '%.*s' is not in the training split. Hint: a %s class must "
                               "also label some training node; check that the splits belong together.",
                               f.what, line, (int)(le - lb > 300 ? 300 : le - lb), lb, split_name(split));
            c = cls_rank[c];
        }
        if (set_label(g, node, c, split, f.what, line)) return -1;
    }
    return 0;
}

static const Strs *rank_strs;
static int cmp_strs(const void *a, const void *b) {
    const Strs *t = rank_strs;
    int x = *(const int *)a, y = *(const int *)b;
    return strcmp(t->a + t->off[x], t->a + t->off[y]);
}

int kg_read_ntriples(KG *g, KgFile nt, const char *const *drop, int n_drop, KgFile train, KgFile valid,
                     KgFile test, const char *ent_col, const char *label_col) {
    memset(g, 0, sizeof *g);
    uint8_t *owned = NULL;
    Strs nodes = {0}, dts = {0}, rels = {0}, classes = {0};
    int *packed = NULL, *order = NULL, *rank = NULL, *cls_order = NULL;
    char *scr = NULL, *key = NULL;
    size_t pcap = 0, kcap = 0;
    int np = 0, rc = -1;
    if (maybe_gunzip(&nt, &owned)) goto done;

    /* one scratch of 3 * (longest line + 1): s, p and o texts, the literal's datatype */
    size_t longest = 0, pos = 0;
    const char *b, *e;
    while (next_line(nt.buf, nt.len, &pos, &b, &e))
        if ((size_t)(e - b) > longest) longest = (size_t)(e - b);
    scr = malloc(4 * (longest + 1));
    if (!scr) {
        oom(nt.what);
        goto done;
    }
    Term t[3];
    for (int k = 0; k < 3; k++) t[k].t = scr + (size_t)k * (longest + 1);
    for (int k = 0; k < 3; k++) t[k].dt = scr + 3 * (longest + 1);
    NtCtx c = {nt.what, 0, NULL};
    pos = 0;
    while (next_line(nt.buf, nt.len, &pos, &b, &e)) {
        c.line++;
        const char *p = b;
        skip_ws(&p, e);
        if (p == e || *p == '#') continue;
        int ok = nt_term(&p, e, 0, &t[0], &c) == 0 && nt_term(&p, e, 1, &t[1], &c) == 0 &&
                 nt_term(&p, e, 2, &t[2], &c) == 0;
        if (ok) {
            skip_ws(&p, e);
            if (p >= e || *p != '.') ok = 0, c.err = "a missing '.' after the object";
            else {
                p++;
                skip_ws(&p, e);
                if (p < e && *p != '#') ok = 0, c.err = "text after the final '.'";
            }
        }
        if (!ok) {
            nl_fail("%s line %d: %s. Hint: %s.", nt.what, c.line, c.err, HINT_NT);
            goto done;
        }
        if (is_dropped(&t[1], drop, n_drop)) {
            g->dropped_tri++;
            continue;
        }
        int s = nt_node(&nodes, &dts, &t[0], &key, &kcap);
        int o = s < 0 ? -1 : nt_node(&nodes, &dts, &t[2], &key, &kcap);
        int r = strs_add(&rels, t[1].t, t[1].n);
        if (s < 0 || o < 0 || r < 0 || (size_t)np >= (size_t)KG_MAX_NODES * 4 ||
            grow(&packed, &pcap, 3 * ((size_t)np + 1), sizeof *packed)) {
            if (nodes.n >= KG_MAX_NODES || np >= KG_MAX_NODES * 4)
                nl_fail("%s line %d: more than %d nodes or %d triples. Hint: this reader is for graphs that fit a "
                        "browser tab.", nt.what, c.line, KG_MAX_NODES, KG_MAX_NODES * 4);
            else
                oom(nt.what);
            goto done;
        }
        packed[3 * (size_t)np] = r, packed[3 * (size_t)np + 1] = s, packed[3 * (size_t)np + 2] = o;
        np++;
    }
    if (np == 0) {
        check_graph(g, nt.what);
        goto done;
    }

    /* relations sorted by IRI */
    g->n_base_rel = rels.n;
    g->n_rel = 2 * rels.n;
    g->rel_names = strs_export(&rels);
    order = malloc((size_t)rels.n * sizeof *order);
    rank = malloc((size_t)rels.n * sizeof *rank);
    if (!g->rel_names || !order || !rank) {
        oom(nt.what);
        goto done;
    }
    for (int i = 0; i < rels.n; i++) order[i] = i;
    sort_names = (const char *const *)g->rel_names;
    qsort(order, (size_t)rels.n, sizeof *order, cmp_name);
    for (int i = 0; i < rels.n; i++) rank[order[i]] = i;
    char **sorted = malloc((size_t)rels.n * sizeof *sorted);
    if (!sorted) {
        oom(nt.what);
        goto done;
    }
    for (int i = 0; i < rels.n; i++) sorted[i] = g->rel_names[order[i]];
    free(g->rel_names);
    g->rel_names = sorted;
    for (int i = 0; i < np; i++) packed[3 * (size_t)i] = rank[packed[3 * (size_t)i]];
    if (finish_triples(g, packed, np, nt.what)) goto done;

    /* nodes: the interner's arena becomes the text table */
    g->n_nodes = nodes.n;
    g->kind = malloc((size_t)nodes.n);
    g->dtype = malloc((size_t)nodes.n * sizeof *g->dtype);
    g->text_off = malloc((size_t)nodes.n * sizeof *g->text_off);
    if (!g->kind || !g->dtype || !g->text_off) {
        oom(nt.what);
        goto done;
    }
    for (int i = 0; i < nodes.n; i++) {
        const char *k = nodes.a + nodes.off[i];
        g->kind[i] = k[0] == 'I' ? KG_IRI : k[0] == 'B' ? KG_BLANK : KG_LITERAL;
        g->dtype[i] = atoi(k + 1);
        g->text_off[i] = nodes.off[i] + (size_t)(strchr(k, ':') - k) + 1;
    }
    g->n_dtypes = dts.n;
    g->dtypes = strs_export(&dts);
    if (!g->dtypes) {
        oom(nt.what);
        goto done;
    }
    /* the splits: training first (it defines the classes, sorted by text), then the others */
    if (alloc_labels(g, nt.what)) goto done;
    g->text = nodes.a; /* read_tsv looks nodes up through the interner; kg_text needs g->text */
    if (read_tsv(g, &nodes, &dts, train, KG_TRAIN, ent_col, label_col, &classes, NULL, &key, &kcap)) goto done;
    cls_order = malloc(((size_t)classes.n + 1) * sizeof *cls_order);
    int *cls_rank = malloc(((size_t)classes.n + 1) * sizeof *cls_rank);
    if (!cls_order || !cls_rank) {
        free(cls_rank);
        oom(train.what);
        goto done;
    }
    for (int i = 0; i < classes.n; i++) cls_order[i] = i;
    rank_strs = &classes;
    qsort(cls_order, (size_t)classes.n, sizeof *cls_order, cmp_strs);
    for (int i = 0; i < classes.n; i++) cls_rank[cls_order[i]] = i;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->label[i] >= 0) g->label[i] = cls_rank[g->label[i]];
    int bad = read_tsv(g, &nodes, &dts, valid, KG_VALID, ent_col, label_col, &classes, cls_rank, &key, &kcap) ||
              read_tsv(g, &nodes, &dts, test, KG_TEST, ent_col, label_col, &classes, cls_rank, &key, &kcap);
    free(cls_rank);
    if (bad || check_labels(g, train.what)) goto done;
    g->n_classes = classes.n;
    g->class_names = calloc((size_t)classes.n + 1, sizeof *g->class_names);
    if (!g->class_names) {
        oom(train.what);
        goto done;
    }
    for (int i = 0; i < classes.n; i++) {
        g->class_names[i] = dupstr(classes.a + classes.off[cls_order[i]]);
        if (!g->class_names[i]) {
            oom(train.what);
            goto done;
        }
    }
    nodes.a = NULL; /* owned by g->text now */
    rc = 0;
done:
    if (rc) {
        if (g->text == nodes.a) g->text = NULL;
        kg_free(g);
    }
    strs_free(&nodes);
    strs_free(&dts);
    strs_free(&rels);
    strs_free(&classes);
    free(packed);
    free(order);
    free(rank);
    free(cls_order);
    free(scr);
    free(key);
    free(owned);
    return rc;
}

/* ======================= CSV and kgbench ======================= */

static int sput(char **s, size_t *cap, size_t *n, char c) {
    if (*n + 1 >= *cap && grow(s, cap, *n + 2, 1)) return -1;
    (*s)[(*n)++] = c;
    return 0;
}

int kg_csv_record(const uint8_t *buf, size_t len, size_t *pos, int *line, const char *what, int max_fields,
                  const char **f, size_t *n, char **scratch, size_t *scratch_cap) {
    size_t p = *pos, sn = 0;
    if (p >= len) return 0;
    int nf = 0, start_line = *line;
    size_t off[64];
    if (max_fields > 64) max_fields = 64;
    for (;;) {
        if (nf >= max_fields)
            return nl_fail("%s line %d: more than %d fields. Hint: %s.", what, start_line, max_fields, HINT_CSV);
        while (p < len && (buf[p] == ' ' || buf[p] == '\t')) p++;
        size_t s0 = sn;
        if (p < len && buf[p] == '"') {
            p++;
            for (;;) {
                if (p >= len)
                    return nl_fail("%s line %d: a quoted field is never closed. Hint: the file is truncated or a "
                                   "quote is not doubled.",
                                   what, start_line);
                uint8_t c = buf[p++];
                if (c == '"') {
                    if (p < len && buf[p] == '"') p++;
                    else break;
                }
                if (c == '\n') (*line)++;
                if (sput(scratch, scratch_cap, &sn, (char)c)) return oom(what);
            }
            while (p < len && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\r')) p++;
            if (p < len && buf[p] != ',' && buf[p] != '\n')
                return nl_fail("%s line %d: text after the closing quote of a field. Hint: %s.", what, *line,
                               HINT_CSV);
        } else {
            while (p < len && buf[p] != ',' && buf[p] != '\n')
                if (sput(scratch, scratch_cap, &sn, (char)buf[p++])) return oom(what);
            while (sn > s0 && ((*scratch)[sn - 1] == ' ' || (*scratch)[sn - 1] == '\r' || (*scratch)[sn - 1] == '\t'))
                sn--;
        }
        off[nf] = s0;
        n[nf] = sn - s0;
        if (sput(scratch, scratch_cap, &sn, 0)) return oom(what);
        nf++;
        if (p < len && buf[p] == ',') {
            p++;
            continue;
        }
        if (p < len) p++, (*line)++; /* the '\n' */
        break;
    }
    for (int i = 0; i < nf; i++) f[i] = *scratch + off[i];
    *pos = p;
    return nf;
}

/* a whole decimal integer field (optional sign); -1 if not one or out of [lo, hi] */
static int parse_int(const char *s, size_t n, long long lo, long long hi, long long *v) {
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return -1;
    long long x = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
        if (x > (long long)1 << 40) return -1;
    }
    if (neg) x = -x;
    if (x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

static int is_blank_record(int nf, const size_t *n) { return nf == 1 && n[0] == 0; }

/* a header line: every field starts with a letter (so a damaged first data row is not
   mistaken for one) */
static int is_header(int nf, const char **f, const size_t *n) {
    for (int i = 0; i < nf; i++)
        if (!n[i] || !((f[i][0] | 32) >= 'a' && (f[i][0] | 32) <= 'z')) return 0;
    return 1;
}

/* reads "index,label" rows (relations) into names; index must run 0, 1, 2, ... */
static int read_relations(KG *g, KgFile f, char **scr, size_t *scap) {
    size_t pos = 0;
    int line = 1, nf, first = 1;
    const char *fl[8];
    size_t fn[8];
    size_t cap = 0;
    while (1) {
        int ln = line;
        nf = kg_csv_record(f.buf, f.len, &pos, &line, f.what, 8, fl, fn, scr, scap);
        if (nf < 0) return -1;
        if (nf == 0) break;
        if (is_blank_record(nf, fn)) continue;
        long long idx;
        if (nf < 2 || parse_int(fl[0], fn[0], 0, KG_MAX_NODES, &idx)) {
            if (first && is_header(nf, fl, fn)) {
                first = 0;
                continue; /* the header */
            }
            return nl_fail("%s line %d: expected 'index,label'. Hint: %s.", f.what, ln, HINT_CSV);
        }
        first = 0;
        if (idx != g->n_base_rel)
            return nl_fail("%s line %d: relation index %lld where %d was expected. Hint: indices must run 0, 1, 2, "
                           "... in order.",
                           f.what, ln, idx, g->n_base_rel);
        if (grow(&g->rel_names, &cap, (size_t)g->n_base_rel + 1, sizeof *g->rel_names)) return oom(f.what);
        g->rel_names[g->n_base_rel] = malloc(fn[1] + 1);
        if (!g->rel_names[g->n_base_rel]) return oom(f.what);
        memcpy(g->rel_names[g->n_base_rel], fl[1], fn[1] + 1);
        g->n_base_rel++;
    }
    if (g->n_base_rel == 0)
        return nl_fail("%s: no relation. Hint: the file should list 'index,label' rows after its header.", f.what);
    g->n_rel = 2 * g->n_base_rel;
    return 0;
}

static int read_nodes(KG *g, KgFile f, char **scr, size_t *scap) {
    Strs dts = {0};
    size_t pos = 0, tcap = 0, tn = 0, ncap = 0, kcap = 0, dcap = 0;
    int line = 1, first = 1, rc = -1;
    const char *fl[8];
    size_t fn[8];
    for (;;) {
        int ln = line;
        int nf = kg_csv_record(f.buf, f.len, &pos, &line, f.what, 8, fl, fn, scr, scap);
        if (nf < 0) goto done;
        if (nf == 0) break;
        if (is_blank_record(nf, fn)) continue;
        long long idx;
        if (nf != 3 || parse_int(fl[0], fn[0], 0, KG_MAX_NODES, &idx)) {
            if (first && is_header(nf, fl, fn)) {
                first = 0;
                continue;
            }
            nl_fail("%s line %d: expected 'index,annotation,label' (3 fields, got %d). Hint: %s.", f.what, ln, nf,
                    HINT_CSV);
            goto done;
        }
        first = 0;
        if (idx != g->n_nodes) {
            nl_fail("%s line %d: node index %lld where %d was expected. Hint: indices must run 0, 1, 2, ... in "
                    "order.",
                    f.what, ln, idx, g->n_nodes);
            goto done;
        }
        int dt = strs_add(&dts, fl[1], fn[1]);
        size_t need = (size_t)g->n_nodes + 1;
        if (dt < 0 || grow(&g->kind, &kcap, need, 1) || grow(&g->dtype, &dcap, need, sizeof *g->dtype) ||
            grow(&g->text_off, &ncap, need, sizeof *g->text_off) || grow(&g->text, &tcap, tn + fn[2] + 1, 1)) {
            oom(f.what);
            goto done;
        }
        g->kind[g->n_nodes] = (fn[1] == 3 && !memcmp(fl[1], "iri", 3))          ? KG_IRI
                              : (fn[1] == 10 && !memcmp(fl[1], "blank_node", 10)) ? KG_BLANK
                                                                                  : KG_LITERAL;
        g->dtype[g->n_nodes] = dt;
        g->text_off[g->n_nodes] = tn;
        memcpy(g->text + tn, fl[2], fn[2] + 1);
        tn += fn[2] + 1;
        g->n_nodes++;
    }
    if (g->n_nodes == 0) {
        nl_fail("%s: no node. Hint: the file should list 'index,annotation,label' rows after its header.", f.what);
        goto done;
    }
    g->n_dtypes = dts.n;
    g->dtypes = strs_export(&dts);
    if (!g->dtypes) {
        oom(f.what);
        goto done;
    }
    rc = 0;
done:
    strs_free(&dts);
    return rc;
}

static int read_int_triples(KG *g, KgFile f, char **scr, size_t *scap) {
    uint8_t *owned = NULL;
    int *packed = NULL, np = 0, line = 1, first = 1, rc = -1;
    size_t pos = 0, pcap = 0;
    if (maybe_gunzip(&f, &owned)) return -1;
    const char *fl[8];
    size_t fn[8];
    for (;;) {
        int ln = line;
        int nf = kg_csv_record(f.buf, f.len, &pos, &line, f.what, 8, fl, fn, scr, scap);
        if (nf < 0) goto done;
        if (nf == 0) break;
        if (is_blank_record(nf, fn)) continue;
        long long v[3];
        int ok = nf == 3;
        for (int k = 0; ok && k < 3; k++) ok = parse_int(fl[k], fn[k], -((long long)1 << 40), (long long)1 << 40, &v[k]) == 0;
        if (!ok) {
            if (first && is_header(nf, fl, fn)) {
                first = 0;
                continue;
            }
            nl_fail("%s line %d: expected three integers 's, p, o'. Hint: %s.", f.what, ln, HINT_CSV);
            goto done;
        }
        first = 0;
        if (v[0] < 0 || v[0] >= g->n_nodes || v[2] < 0 || v[2] >= g->n_nodes) {
            nl_fail("%s line %d: node %lld is not in nodes.int.csv (it has %d nodes). Hint: the triples and the "
                    "node file must come from the same dataset.",
                    f.what, ln, v[0] < 0 || v[0] >= g->n_nodes ? v[0] : v[2], g->n_nodes);
            goto done;
        }
        if (v[1] < 0 || v[1] >= g->n_base_rel) {
            nl_fail("%s line %d: relation %lld is not in relations.int.csv (it has %d). Hint: the triples and the "
                    "relation file must come from the same dataset.",
                    f.what, ln, v[1], g->n_base_rel);
            goto done;
        }
        if (np >= KG_MAX_NODES * 4 || grow(&packed, &pcap, 3 * ((size_t)np + 1), sizeof *packed)) {
            oom(f.what);
            goto done;
        }
        packed[3 * (size_t)np] = (int)v[1], packed[3 * (size_t)np + 1] = (int)v[0], packed[3 * (size_t)np + 2] = (int)v[2];
        np++;
    }
    if (np == 0) {
        check_graph(g, f.what);
        goto done;
    }
    rc = finish_triples(g, packed, np, f.what);
done:
    free(packed);
    free(owned);
    return rc;
}

/* "node,class" rows; header optional (a first line that is not two integers) */
static int read_int_split(KG *g, KgFile f, int split, char **scr, size_t *scap) {
    if (!f.buf) return 0;
    size_t pos = 0;
    int line = 1, first = 1, rows = 0;
    const char *fl[8];
    size_t fn[8];
    for (;;) {
        int ln = line;
        int nf = kg_csv_record(f.buf, f.len, &pos, &line, f.what, 8, fl, fn, scr, scap);
        if (nf < 0) return -1;
        if (nf == 0) break;
        if (is_blank_record(nf, fn)) continue;
        long long nd, c;
        if (nf != 2 || parse_int(fl[0], fn[0], -((long long)1 << 40), (long long)1 << 40, &nd) ||
            parse_int(fl[1], fn[1], -((long long)1 << 40), (long long)1 << 40, &c)) {
            if (first && is_header(nf, fl, fn)) {
                first = 0;
                continue;
            }
            return nl_fail("%s line %d: expected 'node,class' (two integers). Hint: %s.", f.what, ln, HINT_CSV);
        }
        first = 0;
        if (nd < 0 || nd >= g->n_nodes)
            return nl_fail("%s line %d: node %lld is not in the graph (nodes 0..%d). Hint: the split and the node "
                           "file must come from the same dataset.",
                           f.what, ln, nd, g->n_nodes - 1);
        if (split == KG_TRAIN) {
            if (c < 0 || c >= KG_MAX_CLASSES)
                return nl_fail("%s line %d: class %lld is not in 0..%d. Hint: %s.", f.what, ln, c, KG_MAX_CLASSES - 1,
                               HINT_CSV);
            if (c >= g->n_classes) g->n_classes = (int)c + 1;
        } else if (c < 0 || c >= g->n_classes) {
            return nl_fail("%s line %d: class %lld is not a training class (0..%d). Hint: a %s class must also "
                           "label some training node; check that the splits belong together.",
                           f.what, ln, c, g->n_classes - 1, split_name(split));
        }
        if (set_label(g, (int)nd, (int)c, split, f.what, ln)) return -1;
        rows++;
    }
    (void)rows;
    return 0;
}

int kg_read_kgbench(KG *g, KgFile triples, KgFile nodes, KgFile relations, KgFile train, KgFile valid,
                    KgFile test) {
    memset(g, 0, sizeof *g);
    char *scr = NULL;
    size_t scap = 0;
    int rc = -1;
    if (nodes.len > KG_MAX_BYTES || relations.len > KG_MAX_BYTES) {
        nl_fail("%s: more than %zu bytes. Hint: use a smaller dataset.", nodes.len > KG_MAX_BYTES ? nodes.what : relations.what,
                KG_MAX_BYTES);
        goto done;
    }
    if (read_nodes(g, nodes, &scr, &scap) || read_relations(g, relations, &scr, &scap) ||
        read_int_triples(g, triples, &scr, &scap) || alloc_labels(g, nodes.what) ||
        read_int_split(g, train, KG_TRAIN, &scr, &scap) || check_labels(g, train.what) ||
        read_int_split(g, valid, KG_VALID, &scr, &scap) || read_int_split(g, test, KG_TEST, &scr, &scap))
        goto done;
    g->class_names = calloc((size_t)g->n_classes + 1, sizeof *g->class_names);
    if (!g->class_names) {
        oom(train.what);
        goto done;
    }
    for (int i = 0; i < g->n_classes; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", i);
        if (!(g->class_names[i] = dupstr(b))) {
            oom(train.what);
            goto done;
        }
    }
    rc = 0;
done:
    if (rc) kg_free(g);
    free(scr);
    return rc;
}

/* ======================= native helpers ======================= */

uint8_t *kg_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (grow(&b, &cap, n + 65536, 1) || n > KG_MAX_BYTES) {
            free(b);
            fclose(f);
            return NULL;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    *len = n;
    return b;
}

typedef struct {
    const char *path;
    uint8_t *buf;
    size_t len;
} Loaded;

/* reads dir/name into l; required: fail with a message if missing */
static int load_one(Loaded *l, const char *dir, const char *name, int required, char *pathbuf, size_t pn) {
    snprintf(pathbuf, pn, "%s/%s", dir, name);
    l->path = pathbuf;
    l->buf = kg_slurp(pathbuf, &l->len);
    if (!l->buf && required)
        return nl_fail("%s: cannot read the file. Hint: check the dataset folder (NOISYLAB_DATA_DIR or "
                       "../shared/datasets).",
                       pathbuf);
    return 0;
}

int kg_rgcn_info(const char *name, const char *const **drop, int *n_drop, const char **ent_col,
                 const char **label_col) {
    static const char *aifb_drop[] = {"http://swrc.ontoware.org/ontology#affiliation",
                                      "http://swrc.ontoware.org/ontology#employs"};
    static const char *mutag_drop[] = {"http://dl-learner.org/carcinogenesis#isMutagenic"};
    if (!strcmp(name, "aifb")) *drop = aifb_drop, *n_drop = 2, *ent_col = "person", *label_col = "label_affiliation";
    else if (!strcmp(name, "mutag")) *drop = mutag_drop, *n_drop = 1, *ent_col = "bond", *label_col = "label_mutagenic";
    else return -1;
    return 0;
}

int kg_load_rgcn(KG *g, const char *dir, const char *name) {
    const char *const *drop;
    int nd;
    const char *ec, *lc;
    memset(g, 0, sizeof *g);
    if (kg_rgcn_info(name, &drop, &nd, &ec, &lc) < 0)
        return nl_fail("kg: unknown R-GCN dataset '%s'. Hint: use aifb or mutag.", name);
    char p0[1024], p1[1024], p2[1024], f0[256];
    Loaded a = {0}, b = {0}, c = {0};
    snprintf(f0, sizeof f0, "%s_stripped.nt.gz", name);
    int rc = -1;
    if (!load_one(&a, dir, f0, 1, p0, sizeof p0) && !load_one(&b, dir, "trainingSet.tsv", 1, p1, sizeof p1) &&
        !load_one(&c, dir, "testSet.tsv", 1, p2, sizeof p2)) {
        KgFile none = {NULL, 0, "validation"};
        rc = kg_read_ntriples(g, (KgFile){a.buf, a.len, f0}, drop, nd, (KgFile){b.buf, b.len, "trainingSet.tsv"},
                              none, (KgFile){c.buf, c.len, "testSet.tsv"}, ec, lc);
    }
    free(a.buf);
    free(b.buf);
    free(c.buf);
    return rc;
}

int kg_load_kgbench(KG *g, const char *dir) {
    char p[7][1024];
    Loaded l[7] = {{0}};
    const char *names[7] = {"triples.int.csv.gz", "nodes.int.csv", "relations.int.csv", "training.int.csv",
                            "validation.int.csv", "testing.int.csv", "triples.int.csv"};
    int rc = -1;
    memset(g, 0, sizeof *g);
    load_one(&l[0], dir, names[0], 0, p[0], sizeof p[0]);
    int ti = 0;
    if (!l[0].buf) ti = 6;
    if ((ti == 0 || !load_one(&l[ti], dir, names[ti], 1, p[ti], sizeof p[ti])) && !load_one(&l[1], dir, names[1], 1, p[1], sizeof p[1]) &&
        !load_one(&l[2], dir, names[2], 1, p[2], sizeof p[2]) && !load_one(&l[3], dir, names[3], 1, p[3], sizeof p[3]) &&
        !load_one(&l[4], dir, names[4], 0, p[4], sizeof p[4]) && !load_one(&l[5], dir, names[5], 1, p[5], sizeof p[5])) {
        KgFile f[7];
        for (int i = 0; i < 7; i++) f[i] = (KgFile){l[i].buf, l[i].len, names[i]};
        rc = kg_read_kgbench(g, f[ti], f[1], f[2], f[3], f[4], f[5]);
    }
    for (int i = 0; i < 7; i++) free(l[i].buf);
    return rc;
}
