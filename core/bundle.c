/* bundle.c: the graph-subset bundle, a kgbench-layout KG in one file. See bundle.h. */
#include "bundle.h"

#include "err.h"
#include "readers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HINT_BUNDLE "make the bundle again with `npx noisylab graph-subset`; a bundle that was cut short or edited cannot be read"
#define ENTRY 48
#define NAME_LEN 28

/* ---- a growable byte buffer */

typedef struct {
    char *b;
    size_t n, cap;
    int bad; /* out of memory: later writes are dropped, the caller reports it once */
} Buf;

static void put(Buf *s, const char *p, size_t n) {
    if (s->bad) return;
    if (s->n + n + 1 > s->cap) {
        size_t c = s->cap ? s->cap : 4096;
        while (c < s->n + n + 1 && c < (size_t)-1 / 2) c *= 2;
        if (c < s->n + n + 1 || s->n + n + 1 < n) {
            s->bad = 1;
            return;
        }
        char *q = realloc(s->b, c);
        if (!q) {
            s->bad = 1;
            return;
        }
        s->b = q, s->cap = c;
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
    s->b[s->n] = 0;
}
static void puts_(Buf *s, const char *p) { put(s, p, strlen(p)); }
static void puti(Buf *s, long v) {
    char t[24];
    put(s, t, (size_t)snprintf(t, sizeof t, "%ld", v));
}
/* an RFC-4180 quoted field: quotes doubled */
static void putq(Buf *s, const char *p) {
    put(s, "\"", 1);
    for (const char *q; (q = strchr(p, '"')); p = q + 1) put(s, p, (size_t)(q - p + 1)), put(s, "\"", 1);
    puts_(s, p);
    put(s, "\"", 1);
}

static void le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t rd32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

int kg_is_bundle(const uint8_t *buf, size_t len) { return len >= 8 && memcmp(buf, KGB_MAGIC, 8) == 0; }

/* ======================= writing ======================= */

enum { M_MANIFEST, M_NODES, M_RELATIONS, M_TRIPLES, M_TRAIN, M_VALID, M_TEST, M_CLASSES, M_MAPPING, M_N };
static const char *const member_names[M_N] = {"manifest.json", "nodes.int.csv", "relations.int.csv",
                                              "triples.int.csv", "training.int.csv", "validation.int.csv",
                                              "testing.int.csv", "classes.csv", "mapping.int.csv"};

int kg_bundle_write(const KG *g, const int *orig, const char *manifest, uint8_t **out, size_t *len) {
    *out = NULL, *len = 0;
    Buf m[M_N] = {{0}};
    puts_(&m[M_MANIFEST], manifest ? manifest : "{}");
    puts_(&m[M_NODES], "index,annotation,label\n");
    for (int i = 0; i < g->n_nodes; i++) {
        puti(&m[M_NODES], i), put(&m[M_NODES], ",", 1), putq(&m[M_NODES], g->dtypes[g->dtype[i]]);
        put(&m[M_NODES], ",", 1), putq(&m[M_NODES], kg_text(g, i)), put(&m[M_NODES], "\n", 1);
    }
    puts_(&m[M_RELATIONS], "index,label\n");
    for (int r = 0; r < g->n_base_rel; r++)
        puti(&m[M_RELATIONS], r), put(&m[M_RELATIONS], ",", 1), putq(&m[M_RELATIONS], g->rel_names[r]),
            put(&m[M_RELATIONS], "\n", 1);
    puts_(&m[M_TRIPLES], "subject,predicate,object\n");
    for (int t = 0; t < g->n_tri; t++) {
        char line[48];
        put(&m[M_TRIPLES], line, (size_t)snprintf(line, sizeof line, "%d,%d,%d\n", g->s[t], g->p[t], g->o[t]));
    }
    for (int k = M_TRAIN; k <= M_TEST; k++) puts_(&m[k], "node_index,class_index\n");
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->label[i] < 0 || g->split[i] == KG_NONE) continue;
        Buf *b = &m[g->split[i] == KG_TRAIN ? M_TRAIN : g->split[i] == KG_VALID ? M_VALID : M_TEST];
        char line[32];
        put(b, line, (size_t)snprintf(line, sizeof line, "%d,%d\n", i, g->label[i]));
    }
    puts_(&m[M_CLASSES], "index,label\n");
    for (int c = 0; c < g->n_classes; c++)
        puti(&m[M_CLASSES], c), put(&m[M_CLASSES], ",", 1), putq(&m[M_CLASSES], g->class_names[c]),
            put(&m[M_CLASSES], "\n", 1);
    puts_(&m[M_MAPPING], "index,original_index\n");
    for (int i = 0; i < g->n_nodes; i++) {
        char line[32];
        put(&m[M_MAPPING], line, (size_t)snprintf(line, sizeof line, "%d,%d\n", i, orig ? orig[i] : i));
    }
    size_t head = 16 + (size_t)ENTRY * M_N, total = head + 4;
    int bad = 0;
    for (int k = 0; k < M_N; k++) bad |= m[k].bad, total += m[k].n;
    uint8_t *o = bad ? NULL : malloc(total);
    if (o) {
        memcpy(o, KGB_MAGIC, 8);
        le32(o + 8, KGB_VERSION);
        le32(o + 12, M_N);
        size_t off = head + 4;
        for (int k = 0; k < M_N; k++) {
            uint8_t *e = o + 16 + (size_t)ENTRY * k;
            memset(e, 0, NAME_LEN);
            memcpy(e, member_names[k], strlen(member_names[k]));
            le32(e + NAME_LEN, crc32_update(0, (const uint8_t *)m[k].b, m[k].n));
            le64(e + NAME_LEN + 4, off);
            le64(e + NAME_LEN + 12, m[k].n);
            if (m[k].n) memcpy(o + off, m[k].b, m[k].n);
            off += m[k].n;
        }
        le32(o + head, crc32_update(0, o, head));
        *out = o, *len = total;
    }
    for (int k = 0; k < M_N; k++) free(m[k].b);
    if (!o) return nl_fail("bundle: out of memory for %zu bytes. Hint: use a smaller --max-nodes.", total);
    return 0;
}

/* ======================= reading ======================= */

typedef struct {
    const uint8_t *p;
    size_t n;
    int found;
} Member;

/* "index,<integer>" rows after a header: the mapping. Exactly n rows, index 0..n-1 in order. */
static int read_mapping(const Member *mm, const char *what, int n, int **orig) {
    int *o = malloc(((size_t)n + 1) * sizeof *o);
    char *scr = NULL;
    size_t scap = 0, pos = 0;
    int line = 1, rows = 0, rc = -1;
    if (!o) {
        nl_fail("%s: out of memory for the mapping. Hint: the bundle is too large for this tab.", what);
        goto done;
    }
    for (int first = 1;; first = 0) {
        const char *f[4];
        size_t fn[4];
        int ln = line;
        int nf = kg_csv_record(mm->p, mm->n, &pos, &line, "mapping.int.csv", 4, f, fn, &scr, &scap);
        if (nf < 0) goto done;
        if (nf == 0) break;
        if (nf == 1 && fn[0] == 0) continue;
        char *end = NULL;
        long a = 0, b = 0;
        int ok = nf == 2 && fn[0] && fn[1];
        if (ok) a = strtol(f[0], &end, 10), ok = *end == 0;
        if (ok) b = strtol(f[1], &end, 10), ok = *end == 0;
        if (!ok && first) continue; /* the header */
        if (!ok || a != rows || rows >= n || b < 0 || b >= KG_MAX_NODES) {
            nl_fail("%s: mapping.int.csv line %d is not 'index,original_index' for node %d (0..%d). Hint: %s.", what,
                    ln, rows, n - 1, HINT_BUNDLE);
            goto done;
        }
        o[rows++] = (int)b;
    }
    if (rows != n) {
        nl_fail("%s: mapping.int.csv has %d rows for %d nodes. Hint: %s.", what, rows, n, HINT_BUNDLE);
        goto done;
    }
    rc = 0;
done:
    free(scr);
    if (rc || !orig) free(o);
    else *orig = o;
    return rc;
}

/* "index,label" rows: the class names (replacing the reader's "0", "1", ...) */
static int read_classes(const Member *mm, const char *what, KG *g) {
    char *scr = NULL;
    size_t scap = 0, pos = 0;
    int line = 1, rows = 0, rc = -1;
    for (int first = 1;; first = 0) {
        const char *f[4];
        size_t fn[4];
        int ln = line;
        int nf = kg_csv_record(mm->p, mm->n, &pos, &line, "classes.csv", 4, f, fn, &scr, &scap);
        if (nf < 0) goto done;
        if (nf == 0) break;
        if (nf == 1 && fn[0] == 0) continue;
        char *end = NULL;
        long a = nf == 2 && fn[0] ? strtol(f[0], &end, 10) : -1;
        int ok = nf == 2 && fn[0] && *end == 0;
        if (!ok && first) continue;
        if (!ok || a != rows) {
            nl_fail("%s: classes.csv line %d is not 'index,label' for class %d. Hint: %s.", what, ln, rows, HINT_BUNDLE);
            goto done;
        }
        if (rows < g->n_classes) {
            char *d = malloc(fn[1] + 1);
            if (!d) {
                nl_fail("%s: out of memory. Hint: the bundle is too large for this tab.", what);
                goto done;
            }
            memcpy(d, f[1], fn[1] + 1);
            free(g->class_names[rows]);
            g->class_names[rows] = d;
        }
        rows++;
    }
    if (rows < g->n_classes) {
        nl_fail("%s: classes.csv names %d classes but the splits use %d. Hint: %s.", what, rows, g->n_classes, HINT_BUNDLE);
        goto done;
    }
    rc = 0;
done:
    free(scr);
    return rc;
}

int kg_bundle_read(const uint8_t *buf, size_t len, const char *what, KG *g, int **orig, char **manifest) {
    memset(g, 0, sizeof *g);
    if (orig) *orig = NULL;
    if (manifest) *manifest = NULL;
    if (!what) what = "bundle";
    if (len < 20 || !kg_is_bundle(buf, len))
        return nl_fail("%s: not a graph-subset bundle (it does not start with \"%s\"). Hint: choose a file written "
                       "by `npx noisylab graph-subset ... --out FILE`.",
                       what, KGB_MAGIC);
    uint32_t ver = rd32(buf + 8), n = rd32(buf + 12);
    if (ver != KGB_VERSION)
        return nl_fail("%s: bundle version %u, but this core reads version %d. Hint: make the bundle with this "
                       "version of noisylab.", what, ver, KGB_VERSION);
    if (n < 1 || n > KGB_MAX_MEMBERS)
        return nl_fail("%s: the header lists %u members (1..%d allowed). Hint: %s.", what, n, KGB_MAX_MEMBERS, HINT_BUNDLE);
    size_t head = 16 + (size_t)ENTRY * n;
    if (len < head + 4)
        return nl_fail("%s: %zu bytes, shorter than its own header (%zu bytes). Hint: %s.", what, len, head + 4,
                       HINT_BUNDLE);
    if (crc32_update(0, buf, head) != rd32(buf + head))
        return nl_fail("%s: the header's CRC-32 does not match: the file is damaged. Hint: %s.", what, HINT_BUNDLE);
    Member mm[M_N] = {{0}};
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *e = buf + 16 + (size_t)ENTRY * k;
        char name[NAME_LEN + 1];
        memcpy(name, e, NAME_LEN);
        name[NAME_LEN] = 0;
        size_t nl = strlen(name);
        int ok = nl > 0 && nl < NAME_LEN;
        for (size_t i = 0; ok && i < NAME_LEN; i++) ok = i < nl ? (e[i] > ' ' && e[i] < 127) : e[i] == 0;
        if (!ok) return nl_fail("%s: member %u has a malformed name. Hint: %s.", what, k, HINT_BUNDLE);
        uint64_t off = rd64(e + NAME_LEN + 4), sz = rd64(e + NAME_LEN + 12);
        if (off < head + 4 || off > len || sz > len - off || sz > KG_MAX_BYTES)
            return nl_fail("%s: member %s (%llu bytes at offset %llu) runs past the end of the %zu-byte file: it was "
                           "cut short. Hint: %s.",
                           what, name, (unsigned long long)sz, (unsigned long long)off, len, HINT_BUNDLE);
        if (crc32_update(0, buf + off, (size_t)sz) != rd32(e + NAME_LEN))
            return nl_fail("%s: member %s fails its CRC-32: the file is damaged. Hint: %s.", what, name, HINT_BUNDLE);
        for (int j = 0; j < M_N; j++) {
            if (strcmp(name, member_names[j])) continue;
            if (mm[j].found) return nl_fail("%s: member %s appears twice. Hint: %s.", what, name, HINT_BUNDLE);
            mm[j] = (Member){buf + off, (size_t)sz, 1};
        }
    }
    for (int j = 0; j < M_N; j++)
        if (!mm[j].found && j != M_VALID && j != M_CLASSES)
            return nl_fail("%s: the bundle has no %s. Hint: %s.", what, member_names[j], HINT_BUNDLE);
    KgFile f[M_N];
    for (int j = 0; j < M_N; j++) f[j] = (KgFile){mm[j].found ? mm[j].p : NULL, mm[j].n, member_names[j]};
    if (kg_read_kgbench(g, f[M_TRIPLES], f[M_NODES], f[M_RELATIONS], f[M_TRAIN], f[M_VALID], f[M_TEST])) {
        char m[1024];
        snprintf(m, sizeof m, "%s", nl_error());
        return nl_fail("%s: %s", what, m);
    }
    if ((mm[M_CLASSES].found && read_classes(&mm[M_CLASSES], what, g)) || read_mapping(&mm[M_MAPPING], what, g->n_nodes, orig)) {
        kg_free(g);
        return -1;
    }
    if (manifest) {
        *manifest = malloc(mm[M_MANIFEST].n + 1);
        if (!*manifest) {
            kg_free(g);
            if (orig) free(*orig), *orig = NULL;
            return nl_fail("%s: out of memory. Hint: the bundle is too large for this tab.", what);
        }
        memcpy(*manifest, mm[M_MANIFEST].p, mm[M_MANIFEST].n);
        (*manifest)[mm[M_MANIFEST].n] = 0;
    }
    return 0;
}
