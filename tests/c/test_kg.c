/* test_kg.c: the knowledge-graph side of the graph lab (core/kg.c, featurise.c, jpeg.c).

   1. N-Triples and TSV splits on small inline files: terms, escapes, blank nodes, typed and
      tagged literals, comments, CRLF, duplicates, the label predicate left out; every
      malformed line names the file and line.
   2. kgbench CSVs inline: quoted fields with commas, quotes and newlines, optional headers,
      dangling ids, unknown split nodes and classes, an empty graph.
   3. Featurisers: FNV hash and TF-IDF determinism, number/date parsing and year scaling,
      WKT area and centroid of known polygons, base64, and the JPEG decoder against
      libjpeg's decoding of the fixtures (tests/c/jpeg_ref.h), progressive refused.
   4. Corruption sweeps: every prefix and byte flips of a small N-Triples file, kgbench node
      and triple files and each JPEG fixture: no crash (ASan/UBSan), a message on failure.
   5. Real data when ../shared/datasets (or $NOISYLAB_DATA_DIR) is there, else a printed
      skip: AIFB and MUTAG (R-GCN counts), aifb-kgbench and mmlkg-synthetic (their READMEs'
      counts), and the featurisation report of mmlkg-synthetic.
   Run from the repo root. */
#include "check.h"
#include "err.h"
#include "featurise.h"
#include "jpeg.h"
#include "jpeg_ref.h"
#include "kg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t *slurp(const char *path, size_t *n) { return kg_slurp(path, n); }

static int msg_ok(const char *what, const char *sub) {
    const char *m = nl_error();
    size_t n = strlen(m);
    return strstr(m, what) && strstr(m, " Hint: ") && n > 0 && m[n - 1] == '.' && (!sub || strstr(m, sub));
}

static KgFile kf(const char *s, const char *what) { return (KgFile){(const uint8_t *)s, s ? strlen(s) : 0, what}; }
static const KgFile none = {NULL, 0, "none"};

static int find_node(const KG *g, const char *text) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(kg_text(g, i), text)) return i;
    return -1;
}

/* ---- 1. N-Triples */

static const char *nt_small =
    "# a comment\r\n"
    "<http://x/a> <http://x/knows> <http://x/b> .\r\n"
    "<http://x/b> <http://x/knows> _:n1 .\n"
    "_:n1 <http://x/name> \"Ren\\u00E9 \\\"R\\\"\\n\"@fr .\n"
    "\n"
    "<http://x/a> <http://x/age> \"42\"^^<http://www.w3.org/2001/XMLSchema#integer> . # trailing comment\n"
    "<http://x/a> <http://x/label> <http://x/g1> .\n"
    "<http://x/b> <http://x/label> <http://x/g2> .\n"
    "<http://x/c> <http://x/knows> <http://x/a>.\n"
    "<http://x/a> <http://x/knows> <http://x/b> .\n" /* duplicate */
    "<http://x/c> <http://x/name> \"42\" .\n";
static const char *tsv_train = "ent\tid\tcls\r\nhttp://x/a\t1.0\tg1\r\nhttp://x/c\t2.0\tg2\r\n";
static const char *tsv_test = "ent\tid\tcls\nhttp://x/b\t3.0\tg2\n";

static void test_ntriples(void) {
    KG g;
    const char *drop[] = {"http://x/label"};
    int rc = kg_read_ntriples(&g, kf(nt_small, "small.nt"), drop, 1, kf(tsv_train, "train.tsv"), none,
                              kf(tsv_test, "test.tsv"), "ent", "cls");
    CHECK(rc == 0, "small.nt: %s", nl_error());
    if (rc) return;
    /* nodes: a b c _:n1, the @fr literal, "42"^^integer, "42" (plain differs from typed) */
    CHECK(g.n_nodes == 7, "nodes %d", g.n_nodes);
    CHECK(g.n_base_rel == 3 && g.n_rel == 6, "relations %d/%d", g.n_base_rel, g.n_rel);
    CHECK(g.n_tri == 6 && g.dup_tri == 1 && g.dropped_tri == 2, "triples %d dup %d dropped %d", g.n_tri, g.dup_tri,
          g.dropped_tri);
    CHECK(!strcmp(g.rel_names[0], "http://x/age") && !strcmp(g.rel_names[2], "http://x/name"), "relations sorted");
    for (int r = 0; r < g.n_base_rel; r++) CHECK(strcmp(g.rel_names[r], "http://x/label"), "label predicate kept");
    CHECK(find_node(&g, "http://x/g1") < 0, "the label's object is not a node");
    int lit = find_node(&g, "Ren\xC3\xA9 \"R\"\n");
    CHECK(lit >= 0 && g.kind[lit] == KG_LITERAL && !strcmp(g.dtypes[g.dtype[lit]], "@fr"), "unescaped literal");
    int bn = find_node(&g, "_:n1");
    CHECK(bn >= 0 && g.kind[bn] == KG_BLANK, "blank node");
    CHECK(find_node(&g, "http://x/a") == 0 && find_node(&g, "http://x/b") == 1, "first-appearance numbering");
    for (int i = 1; i < g.n_tri; i++) {
        long a = ((long)g.p[i - 1] * 100 + g.s[i - 1]) * 100 + g.o[i - 1], b = ((long)g.p[i] * 100 + g.s[i]) * 100 + g.o[i];
        CHECK(a < b, "triples sorted by (p, s, o) and unique at %d", i);
    }
    CHECK(g.n_classes == 2 && !strcmp(g.class_names[0], "g1") && !strcmp(g.class_names[1], "g2"), "classes (CRLF "
          "stripped)");
    CHECK(g.label[0] == 0 && g.split[0] == KG_TRAIN && g.label[1] == 1 && g.split[1] == KG_TEST, "labels");
    CHECK(g.n_split[KG_TRAIN] == 2 && g.n_split[KG_TEST] == 1 && g.n_split[KG_VALID] == 0, "split sizes");
    int lab = 0;
    for (int i = 0; i < g.n_nodes; i++) lab += g.label[i] >= 0;
    CHECK(lab == 3, "labelled %d", lab);
    int *es, *er, *ed;
    int ne = kg_edges(&g, &es, &er, &ed);
    CHECK(ne == 12 && es[6] == g.o[0] && er[6] == g.p[0] + 3 && ed[6] == g.s[0] && es[0] == g.s[0], "edges with inverses");
    free(es), free(er), free(ed);
    kg_free(&g);
    kg_free(&g); /* twice is safe */

    /* malformed lines: each names the file and its line */
    static const struct {
        const char *nt, *sub;
    } bad[] = {
        {"<http://x/a> <http://x/p> <http://x/b>\n", "line 1: a missing '.'"},
        {"<http://x/a> <http://x/p> <http://x/b> .\n<http://x/a> <http://x/p> .\n", "line 2: a term that is not"},
        {"<http://x/a> \"p\" <http://x/b> .\n", "predicate that is not an <IRI>"},
        {"<http://x/a <http://x/p> <http://x/b> .\n", "line 1"},
        {"<http://x/a> <http://x/p> \"abc .\n", "closing quote"},
        {"<http://x/a> <http://x/p> \"a\\qb\" .\n", "invalid escape"},
        {"<http://x/a> <http://x/p> \"a\\u00ZZ\" .\n", "invalid escape"},
        {"<http://x/a> <http://x/p> \"a\"^^xsd:int .\n", "datatype"},
        {"<http://x/a> <http://x/p> <http://x/b> . extra\n", "text after"},
        {"_: <http://x/p> <http://x/b> .\n", "blank node"},
        {"# only a comment\n\n", "empty"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nl_clear_error();
        rc = kg_read_ntriples(&g, kf(bad[i].nt, "bad.nt"), NULL, 0, kf(tsv_train, "train.tsv"), none, none, "ent", "cls");
        CHECK(rc < 0 && msg_ok("bad.nt", bad[i].sub), "bad N-Triples %zu: %s", i, nl_error());
    }
    /* split problems */
    static const struct {
        const char *train, *test, *what, *sub;
    } bads[] = {
        {"ent\tcls\nhttp://x/zz\tg1\n", NULL, "train.tsv", "line 2: the entity http://x/zz is not in the graph"},
        {"ent\tcls\nhttp://x/a\tg1\n", "ent\tcls\nhttp://x/b\tg9\n", "test.tsv", "class 'g9' is not in the training"},
        {"ent\tcls\nhttp://x/a\tg1\nhttp://x/a\tg1\n", NULL, "train.tsv", "already in the training split"},
        {"ent\tcls\nhttp://x/a\tg1\n", "ent\tcls\nhttp://x/a\tg1\n", "test.tsv", "already in the training"},
        {"who\tcls\nhttp://x/a\tg1\n", NULL, "train.tsv", "no 'ent' column"},
        {"ent\tcls\nhttp://x/a\n", NULL, "train.tsv", "fewer columns"},
        {"ent\tcls\n", NULL, "train.tsv", "no labelled training node"},
        {"", NULL, "train.tsv", "empty"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        nl_clear_error();
        rc = kg_read_ntriples(&g, kf(nt_small, "small.nt"), NULL, 0, kf(bads[i].train, "train.tsv"), none,
                              bads[i].test ? kf(bads[i].test, "test.tsv") : none, "ent", "cls");
        CHECK(rc < 0 && msg_ok(bads[i].what, bads[i].sub), "bad split %zu: %s", i, nl_error());
    }
}

/* ---- 2. kgbench CSV */

static const char *kb_nodes = "\"index\",\"annotation\",\"label\"\n"
                              "0,\"iri\",\"http://x/a\"\n"
                              "1,\"iri\",\"http://x/b\"\n"
                              "2,\"http://www.w3.org/2001/XMLSchema#string\",\"a, \"\"quoted\"\"\n"
                              "two-line text\"\n"
                              "3,\"blank_node\",\"_:b0\"\r\n"
                              "4,\"http://www.w3.org/2001/XMLSchema#gYear\",\"1990\"\n";
static const char *kb_rel = "\"index\",\"label\"\n0,\"http://x/p\"\n1,\"http://x/q\"\n";
static const char *kb_tri = "0, 0, 1\n0, 1, 2\n3, 0, 0\n1, 1, 4\n";
static const char *kb_train = "0,0\n1,1\n";
static const char *kb_valid = "node_index,class_index\n3,1\n";

static void test_kgbench(void) {
    KG g;
    int rc = kg_read_kgbench(&g, kf(kb_tri, "triples.int.csv"), kf(kb_nodes, "nodes.int.csv"), kf(kb_rel, "rel.csv"),
                             kf(kb_train, "training.int.csv"), kf(kb_valid, "validation.int.csv"), none);
    CHECK(rc == 0, "kgbench small: %s", nl_error());
    if (rc) return;
    CHECK(g.n_nodes == 5 && g.n_base_rel == 2 && g.n_tri == 4, "counts %d %d %d", g.n_nodes, g.n_base_rel, g.n_tri);
    CHECK(!strcmp(kg_text(&g, 2), "a, \"quoted\"\ntwo-line text"), "quoted field: [%s]", kg_text(&g, 2));
    CHECK(g.kind[3] == KG_BLANK && g.kind[0] == KG_IRI && g.kind[4] == KG_LITERAL, "kinds");
    CHECK(!strcmp(kg_text(&g, 4), "1990") && !strcmp(g.dtypes[g.dtype[4]], "http://www.w3.org/2001/XMLSchema#gYear"),
          "node 4 after the multi-line field");
    CHECK(g.n_classes == 2 && g.label[0] == 0 && g.label[1] == 1 && g.split[3] == KG_VALID && g.label[2] == -1,
          "header-less training (first row kept) and a headed validation split");
    CHECK(g.p[0] == 0 && g.s[0] == 0 && g.o[0] == 1, "first triple (p, s, o) order");
    kg_free(&g);

    static const struct {
        const char *tri, *nodes, *train, *test, *what, *sub;
    } bad[] = {
        {"0, 0, 9\n", NULL, NULL, NULL, "triples.int.csv", "line 1: node 9 is not in nodes.int.csv"},
        {"0, 5, 1\n", NULL, NULL, NULL, "triples.int.csv", "relation 5"},
        {"0, 0\n", NULL, NULL, NULL, "triples.int.csv", "three integers"},
        {"", NULL, NULL, NULL, "triples.int.csv", "empty"},
        {"s,p,o\n", NULL, NULL, NULL, "triples.int.csv", "empty"},
        {NULL, "\"index\",\"annotation\",\"label\"\n0,\"iri\",\"x\"\n2,\"iri\",\"y\"\n", NULL, NULL, "nodes.int.csv",
         "line 3: node index 2 where 1"},
        {NULL, "0,\"iri\",\"never closed\n", NULL, NULL, "nodes.int.csv", "never closed"},
        {NULL, "0,\"iri\",\"x\"junk\n", NULL, NULL, "nodes.int.csv", "after the closing quote"},
        {NULL, NULL, "0,0\n99,1\n", NULL, "training.int.csv", "line 2: node 99 is not in the graph"},
        {NULL, NULL, NULL, "1,7\n", "testing.int.csv", "class 7 is not a training class"},
        {NULL, NULL, "0,0\n0,1\n", NULL, "training.int.csv", "already in the training"},
        {NULL, NULL, "x\n", NULL, "training.int.csv", "no labelled training node"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nl_clear_error();
        const char *nodes = bad[i].nodes ? bad[i].nodes : kb_nodes;
        if (bad[i].nodes && !strstr(bad[i].sub, "node index")) nodes = bad[i].nodes;
        rc = kg_read_kgbench(&g, kf(bad[i].tri ? bad[i].tri : kb_tri, "triples.int.csv"), kf(nodes, "nodes.int.csv"),
                             kf(kb_rel, "rel.csv"), kf(bad[i].train ? bad[i].train : kb_train, "training.int.csv"),
                             none, bad[i].test ? kf(bad[i].test, "testing.int.csv") : none);
        CHECK(rc < 0 && msg_ok(bad[i].what, bad[i].sub), "bad kgbench %zu: %s", i, nl_error());
    }
    /* kg_csv_record on its own */
    const char *csv = "a,\"b,c\",\"d\"\"e\"\r\n , x ,\n";
    size_t pos = 0, n[8], cap = 0;
    const char *f[8];
    char *scr = NULL;
    int line = 1;
    int nf = kg_csv_record((const uint8_t *)csv, strlen(csv), &pos, &line, "t.csv", 8, f, n, &scr, &cap);
    CHECK(nf == 3 && !strcmp(f[0], "a") && !strcmp(f[1], "b,c") && !strcmp(f[2], "d\"e") && line == 2, "csv record 1");
    nf = kg_csv_record((const uint8_t *)csv, strlen(csv), &pos, &line, "t.csv", 8, f, n, &scr, &cap);
    CHECK(nf == 3 && n[0] == 0 && !strcmp(f[1], "x") && n[2] == 0 && line == 3, "csv record 2 (trimmed, empty)");
    CHECK(kg_csv_record((const uint8_t *)csv, strlen(csv), &pos, &line, "t.csv", 8, f, n, &scr, &cap) == 0, "csv end");
    free(scr);
}

/* ---- 3. featurisers */

static void b64(const uint8_t *in, size_t n, char *out) {
    static const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"; /* URL-safe */
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[k++] = a[v >> 18 & 63], out[k++] = a[v >> 12 & 63];
        out[k++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[k] = 0;
}

static void test_featurisers(void) {
    CHECK(ft_hash("a", 1) == 0xe40c292cu && ft_hash("", 0) == 2166136261u, "FNV-1a known values");
    float tf[64] = {0}, tf2[64] = {0};
    ft_text_counts("Ab", 2, 64, tf);
    float s = 0;
    for (int k = 0; k < 64; k++) s += tf[k];
    CHECK(s == 3, "'Ab': one word + 2 trigrams, got %g", s);
    memset(tf, 0, sizeof tf);
    ft_text_counts("Hello, WORLD! hello", 19, 64, tf);
    ft_text_counts("hello world hello", 17, 64, tf2);
    CHECK(!memcmp(tf, tf2, sizeof tf), "case and punctuation do not matter");

    double v, y, fr;
    CHECK(ft_number("1e3", &v) == 0 && v == 1000, "1e3");
    CHECK(ft_number("-0.078", &v) == 0 && v == -0.078, "-0.078");
    CHECK(ft_number("true", &v) == 0 && v == 1, "true");
    CHECK(ft_number("nan", &v) < 0 && ft_number("0x10", &v) < 0 && ft_number("", &v) < 0 && ft_number("1 2x", &v) < 0,
          "not numbers");
    CHECK(ft_date("1990", &y, &fr) == 0 && y == 1990 && fr == 0, "gYear");
    CHECK_CLOSE(ft_year_scale(1990), -0.1, 1e-12, "year scale");
    CHECK(ft_date("-1003", &y, &fr) == 0 && y == -1003, "negative gYear");
    CHECK(ft_date("2000-07-02", &y, &fr) == 0 && y == 2000, "date");
    CHECK_CLOSE(fr, 182.0 / 365, 1e-9, "July 2 position");
    CHECK(ft_date("2012-12-31T12:00:00+01:00", &y, &fr) == 0 && y == 2012 && fr > 0.99, "dateTime");
    CHECK(ft_date("2012-13-01", &y, &fr) < 0 && ft_date("abc", &y, &fr) < 0 && ft_date("1990x", &y, &fr) < 0, "bad dates");

    FtGeom g;
    CHECK(ft_wkt("POLYGON ((0 0, 4 0, 4 3, 0 3, 0 0))", &g) == 0 && g.nvert == 5 && g.type == 3, "rectangle: %s", nl_error());
    CHECK_CLOSE(g.area, 12, 1e-12, "rectangle area");
    CHECK_CLOSE(g.cx, 2, 1e-12, "rectangle cx");
    CHECK_CLOSE(g.cy, 1.5, 1e-12, "rectangle cy");
    CHECK(ft_wkt("POLYGON((0 0,0 3,4 3,4 0,0 0),(1 1,2 1,2 2,1 2,1 1))", &g) == 0, "with a hole (clockwise outer)");
    CHECK_CLOSE(g.area, 11, 1e-12, "hole subtracted");
    CHECK_CLOSE(g.cx, (12 * 2 - 1.5) / 11, 1e-12, "holed cx");
    CHECK(ft_wkt("<http://www.opengis.net/def/crs/EPSG/0/28992> MULTIPOLYGON (((100000 400000, 100002 400000, "
                 "100002 400002, 100000 400000)), ((0 0, 1 0, 1 1, 0 1, 0 0)))",
                 &g) == 0,
          "multipolygon with a CRS: %s", nl_error());
    CHECK_CLOSE(g.area, 3, 1e-9, "multipolygon area (triangle 2 + square 1)");
    CHECK(ft_wkt("POINT (1.5 -2)", &g) == 0 && g.cx == 1.5 && g.cy == -2 && g.nvert == 1 && g.area == 0, "point");
    CHECK(ft_wkt("LINESTRING Z (0 0 1, 2 2 1, 4 0 1)", &g) == 0 && g.nvert == 3 && g.cx == 2, "linestring z");
    CHECK(ft_wkt("POINT EMPTY", &g) == 0 && g.nvert == 0, "empty");
    static const char *badw[] = {"POLYGON ((0 0, 1 1", "POLYGON ((0 0, 1))", "CIRCLE (0 0, 1)", "POINT (1 2)) x",
                                 "POINT ((((1 2))))", "POINT ()", "POINT (nan 1)", "", "POINT (1 2) extra"};
    for (size_t i = 0; i < sizeof badw / sizeof *badw; i++)
        CHECK(ft_wkt(badw[i], &g) < 0 && msg_ok("WKT", NULL), "bad WKT '%s' refused: %s", badw[i], nl_error());

    uint8_t *o;
    size_t on;
    CHECK(ft_base64("aGk_-w==", 8, &o, &on) == 0 && on == 4 && o[0] == 'h' && o[1] == 'i' && o[2] == 0x3f &&
              o[3] == 0xfb,
          "URL-safe base64");
    free(o);
    CHECK(ft_base64("aGk/+w", 6, &o, &on) == 0 && on == 4 && o[3] == 0xfb, "standard base64, no padding");
    free(o);
    CHECK(ft_base64("a$b", 3, &o, &on) < 0 && msg_ok("base64", NULL), "bad base64");
}

/* ---- JPEG fixtures against libjpeg */

static uint8_t *fixture(const char *name, size_t *n) {
    char p[256];
    snprintf(p, sizeof p, "tests/fuzz/seeds/fuzz_jpeg/%s.jpg", name);
    uint8_t *b = slurp(p, n);
    CHECK(b != NULL, "fixture %s (run from the repo root)", p);
    return b;
}

static void test_jpeg(void) {
    static const struct {
        const char *name;
        const unsigned char *ref;
        int w, h, c;
    } fx[] = {{"gray", ref_gray, 16, 16, 1},
              {"rgb444_restart", ref_rgb444_restart, 24, 16, 3},
              {"rgb420_odd", ref_rgb420_odd, 33, 17, 3},
              {"rgb422", ref_rgb422, 32, 16, 3}};
    for (size_t i = 0; i < sizeof fx / sizeof *fx; i++) {
        size_t n;
        uint8_t *b = fixture(fx[i].name, &n), *px;
        if (!b) continue;
        int w, h, c;
        int rc = jpeg_decode(b, n, fx[i].name, &px, &w, &h, &c);
        CHECK(rc == 0 && w == fx[i].w && h == fx[i].h && c == fx[i].c, "%s: %s", fx[i].name, nl_error());
        if (rc == 0) {
            int maxd = 0;
            long sum = 0;
            for (int k = 0; k < w * h * c; k++) {
                int d = abs(px[k] - fx[i].ref[k]);
                sum += d;
                if (d > maxd) maxd = d;
            }
            CHECK(maxd <= 3 && sum <= w * h * c / 4, "%s vs libjpeg: max diff %d, total %ld", fx[i].name, maxd, sum);
            free(px);
        }
        /* every strict prefix fails with a message; byte flips never crash */
        int prefix_ok = 1;
        for (size_t k = 0; k < n; k++) {
            uint8_t *cp = malloc(k ? k : 1);
            memcpy(cp, b, k);
            nl_clear_error();
            if (jpeg_decode(cp, k, "cut.jpg", &px, &w, &h, &c) == 0) free(px), prefix_ok = 0;
            else if (!msg_ok("cut.jpg", NULL)) prefix_ok = 0;
            free(cp);
        }
        CHECK(prefix_ok, "%s: every truncation refused with a message (%s)", fx[i].name, nl_error());
        uint8_t *cp = malloc(n);
        int flips_ok = 1;
        for (size_t k = 0; k < n; k++)
            for (int bit = 0; bit < 8; bit += 3) {
                memcpy(cp, b, n);
                cp[k] ^= (uint8_t)(1 << bit);
                nl_clear_error();
                if (jpeg_decode(cp, n, "flip.jpg", &px, &w, &h, &c) == 0) {
                    if (w < 1 || h < 1 || (c != 1 && c != 3)) flips_ok = 0;
                    free(px);
                } else if (!msg_ok("flip.jpg", NULL)) flips_ok = 0;
            }
        CHECK(flips_ok, "%s: bit flips", fx[i].name);
        free(cp);
        if (i == 2) { /* the same image as a base64 literal: thumbnail and histogram */
            char *s = malloc(n * 4 / 3 + 8);
            b64(b, n, s);
            float f[FT_IMAGE_DIM];
            CHECK(ft_image(s, strlen(s), "img", f) == 0, "ft_image: %s", nl_error());
            double hs[3] = {0, 0, 0};
            int inrange = 1;
            for (int k = 0; k < FT_THUMB * FT_THUMB * 3; k++) inrange &= f[k] >= 0 && f[k] <= 1;
            for (int k = 0; k < 3 * FT_BINS; k++) hs[k / FT_BINS] += f[FT_THUMB * FT_THUMB * 3 + k];
            CHECK(inrange, "thumbnail in [0, 1]");
            for (int k = 0; k < 3; k++) CHECK_CLOSE(hs[k], 1, 1e-5, "histogram sums to 1");
            /* the red channel is a left-to-right ramp: thumbnail cell 0 darker than cell 7 */
            CHECK(f[0] < 0.15f && f[7 * 3] > 0.8f, "red ramp %g %g", f[0], f[21]);
            s[strlen(s) / 2] = 0; /* truncated literal: a message, a zero vector */
            CHECK(ft_image(s, strlen(s), "half", f) < 0 && msg_ok("half", NULL) && f[0] == 0, "truncated image literal");
            free(s);
        }
        free(b);
    }
    size_t n;
    uint8_t *b = fixture("progressive", &n), *px;
    int w, h, c;
    if (b) CHECK(jpeg_decode(b, n, "prog.jpg", &px, &w, &h, &c) < 0 && msg_ok("prog.jpg", "progressive JPEG is not supported"), "progressive refused: %s", nl_error());
    free(b);
    uint8_t junk[] = {0xFF, 0xD8, 0xFF, 0xD9};
    CHECK(jpeg_decode(junk, 4, "j.jpg", &px, &w, &h, &c) < 0 && msg_ok("j.jpg", "before any image data"), "SOI+EOI");
    CHECK(jpeg_decode(junk, 1, "j.jpg", &px, &w, &h, &c) < 0 && msg_ok("j.jpg", "not a JPEG"), "1 byte");
}

/* kg_featurise on a small KG with bad literals: counted, zero vectors, no abort */
static void test_featurise_kg(void) {
    static char nodes[4096];
    snprintf(nodes, sizeof nodes,
             "index,annotation,label\n0,iri,http://x/a\n1,http://www.w3.org/2001/XMLSchema#string,\"red apple\"\n"
             "2,http://www.w3.org/2001/XMLSchema#string,\"green apple\"\n3,http://www.w3.org/2001/XMLSchema#integer,12\n"
             "4,http://www.w3.org/2001/XMLSchema#integer,twelve\n5,http://kgbench.info/dt#base64Image,\"_9j_4AAQ\"\n"
             "6,http://www.opengis.net/ont/geosparql#wktLiteral,\"POLYGON ((0 0, 1 0, 1 1, 0 0))\"\n"
             "7,http://www.w3.org/2001/XMLSchema#gYear,1990\n8,@nl,\"rode appel\"\n");
    KG g;
    int rc = kg_read_kgbench(&g, kf("0,0,1\n0,0,2\n0,0,3\n0,0,4\n0,0,5\n0,0,6\n0,0,7\n0,0,8\n", "t.csv"),
                             kf(nodes, "nodes.csv"), kf("0,http://x/p\n", "r.csv"), kf("0,0\n", "train.csv"), none, none);
    CHECK(rc == 0, "featurise kg: %s", nl_error());
    if (rc) return;
    KgFeatures f, f2;
    CHECK(kg_featurise(&g, 0, &f) < 0 && msg_ok("featurise", "text_dim"), "text_dim 0 refused");
    CHECK(kg_featurise(&g, 32, &f) == 0 && kg_featurise(&g, 32, &f2) == 0, "featurise: %s", nl_error());
    CHECK(f.rep.n_lit[FT_TEXT] == 3 && f.rep.n_lit[FT_NUMBER] == 2 && f.rep.n_lit[FT_IMAGE] == 1 &&
              f.rep.n_lit[FT_WKT] == 1 && f.rep.n_lit[FT_DATE] == 1 && f.rep.n_lit[FT_NONE] == 1,
          "modalities");
    CHECK(f.rep.n_bad[FT_NUMBER] == 1 && f.rep.n_bad[FT_IMAGE] == 1 && f.rep.n_bad[FT_WKT] == 0, "undecodable counted");
    CHECK(strstr(f.rep.first_bad[FT_IMAGE], "node 5") != NULL, "first bad image named: %s", f.rep.first_bad[FT_IMAGE]);
    CHECK(f.node[FT_NUMBER][1] == 4 && f.x[FT_NUMBER][2] == 0 && f.x[FT_NUMBER][3] == 0, "bad number: zero row");
    float ss = 0;
    for (int k = 0; k < 32; k++) ss += f.x[FT_TEXT][k] * f.x[FT_TEXT][k];
    CHECK_CLOSE(ss, 1, 1e-5, "text rows L2-normalised");
    CHECK(!memcmp(f.x[FT_TEXT], f2.x[FT_TEXT], 3 * 32 * sizeof(float)), "TF-IDF deterministic");
    CHECK_CLOSE(f.x[FT_WKT][2], log1p(0.5), 1e-6, "triangle log1p(area)");
    CHECK_CLOSE(f.x[FT_DATE][0], -0.1, 1e-6, "1990 scaled");
    char rep[2048];
    ft_report_text(&f.rep, rep, sizeof rep);
    CHECK(strstr(rep, "image") && strstr(rep, "1 undecodable"), "report: %s", rep);
    kg_features_free(&f);
    kg_features_free(&f2);
    kg_free(&g);
}

/* ---- 4. corruption sweeps of the readers */

static void sweep_nt(void) {
    size_t n = strlen(nt_small);
    int ok = 1, succeeded = 0;
    KG g;
    for (size_t k = 0; k <= n; k++) {
        char *cp = malloc(k + 1);
        memcpy(cp, nt_small, k);
        KgFile f = {(const uint8_t *)cp, k, "cut.nt"};
        nl_clear_error();
        if (kg_read_ntriples(&g, f, NULL, 0, kf(tsv_train, "train.tsv"), none, kf(tsv_test, "test.tsv"), "ent", "cls") == 0)
            kg_free(&g), succeeded++;
        else if (!msg_ok("cut.nt", NULL) && !msg_ok(".tsv", NULL)) ok = 0, printf("  %s\n", nl_error());
        free(cp);
    }
    CHECK(ok && succeeded > 0, "N-Triples prefixes (%d read whole)", succeeded);
    ok = 1;
    char *cp = malloc(n);
    static const uint8_t flips[] = {'<', '>', '"', '\\', '.', ' ', '\n', 0, 0xFF, '_', ':'};
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < sizeof flips; j++) {
            memcpy(cp, nt_small, n);
            cp[k] = (char)flips[j];
            KgFile f = {(const uint8_t *)cp, n, "flip.nt"};
            nl_clear_error();
            if (kg_read_ntriples(&g, f, NULL, 0, kf(tsv_train, "train.tsv"), none, none, "ent", "cls") == 0) kg_free(&g);
            else if (!msg_ok("flip.nt", NULL) && !msg_ok(".tsv", NULL)) ok = 0;
        }
    free(cp);
    CHECK(ok, "N-Triples byte substitutions");
    /* every prefix of the training TSV, and tabs, CRs and newlines dropped in anywhere */
    ok = 1;
    size_t tn = strlen(tsv_train);
    for (size_t k = 0; k <= tn; k++)
        for (int sub = -1; sub < 3; sub++) {
            char *t = malloc(tn + 1);
            memcpy(t, tsv_train, tn);
            size_t len = k;
            if (sub >= 0) {
                if (k == tn) {
                    free(t);
                    continue;
                }
                t[k] = "\t\r\n"[sub];
                len = tn;
            }
            KgFile f = {(const uint8_t *)t, len, "cut.tsv"};
            nl_clear_error();
            if (kg_read_ntriples(&g, kf(nt_small, "small.nt"), NULL, 0, f, none, kf(tsv_test, "test.tsv"), "ent", "cls") == 0)
                kg_free(&g);
            else if (!msg_ok(".tsv", NULL)) ok = 0, printf("  %s\n", nl_error());
            free(t);
        }
    CHECK(ok, "TSV prefixes and substitutions");
}

static void sweep_kgbench(void) {
    const char *src[2] = {kb_nodes, kb_tri};
    const char *names[2] = {"nodes.int.csv", "triples.int.csv"};
    for (int which = 0; which < 2; which++) {
        size_t n = strlen(src[which]);
        int ok = 1;
        KG g;
        for (size_t k = 0; k <= n; k++)
            for (int flip = -1; flip < 4; flip++) {
                char *cp = malloc(n + 1);
                memcpy(cp, src[which], n);
                static const char subs[] = {'"', ',', '\n', '9'};
                size_t len = k;
                if (flip >= 0) { /* a substitution at k of the whole file, not a prefix */
                    if (k == n) {
                        free(cp);
                        continue;
                    }
                    cp[k] = subs[flip];
                    len = n;
                }
                KgFile f = {(const uint8_t *)cp, len, names[which]};
                nl_clear_error();
                int rc = which == 0 ? kg_read_kgbench(&g, kf(kb_tri, "triples.int.csv"), f, kf(kb_rel, "rel.csv"),
                                                      kf(kb_train, "training.int.csv"), none, none)
                                    : kg_read_kgbench(&g, f, kf(kb_nodes, "nodes.int.csv"), kf(kb_rel, "rel.csv"),
                                                      kf(kb_train, "training.int.csv"), none, none);
                if (rc == 0) kg_free(&g);
                else if (!strstr(nl_error(), " Hint: ")) ok = 0, printf("  %s\n", nl_error());
                free(cp);
            }
        CHECK(ok, "%s prefixes and substitutions", names[which]);
    }
}

/* ---- 5. real data */

static const char *data_dir(void) {
    const char *d = getenv("NOISYLAB_DATA_DIR");
    return d && *d ? d : "../shared/datasets";
}

static int has(const char *dir, const char *sub, const char *file) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s/%s", dir, sub, file);
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static void count_split(const KG *g, int split, int *per_class) {
    for (int c = 0; c < g->n_classes; c++) per_class[c] = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->split[i] == split) per_class[g->label[i]]++;
}

static void print_kg(const char *name, const KG *g, double sec) {
    int k[3] = {0, 0, 0};
    for (int i = 0; i < g->n_nodes; i++) k[g->kind[i]]++;
    printf("  %-16s %6d nodes (%d IRI, %d blank, %d literal), %d relations (%d with inverses), %d triples, "
           "train/valid/test %d/%d/%d, %d classes, read in %.3f s\n",
           name, g->n_nodes, k[0], k[1], k[2], g->n_base_rel, g->n_rel, g->n_tri, g->n_split[1], g->n_split[2],
           g->n_split[3], g->n_classes, sec);
}

static void test_real(void) {
    const char *dd = data_dir();
    static const char *sets[4][2] = {{"aifb", "aifb_stripped.nt.gz"}, {"mutag", "mutag_stripped.nt.gz"},
                                     {"aifb-kgbench", "nodes.int.csv"}, {"mmlkg-synthetic", "nodes.int.csv"}};
    int present[4];
    for (int i = 0; i < 4; i++)
        if (!(present[i] = has(dd, sets[i][0], sets[i][1])))
            printf("  note: %s/%s not found: skipping its tests (set NOISYLAB_DATA_DIR)\n", dd, sets[i][0]);
    char dir[1024];
    KG a = {0}, m = {0}, kb = {0}, mm = {0};
    int pc[8];
    clock_t t0 = clock();
    snprintf(dir, sizeof dir, "%s/aifb", dd);
    int rc = present[0] ? kg_load_rgcn(&a, dir, "aifb") : -1;
    CHECK(rc == 0 || !present[0], "aifb: %s", nl_error());
    if (rc == 0) {
        print_kg("aifb", &a, (double)(clock() - t0) / CLOCKS_PER_SEC);
        int k[3] = {0, 0, 0};
        for (int i = 0; i < a.n_nodes; i++) k[a.kind[i]]++;
        CHECK(a.n_nodes == 8285 && k[0] == 2683 && k[1] == 152 && k[2] == 5450, "aifb nodes %d", a.n_nodes);
        CHECK(a.n_base_rel == 45 && a.n_rel == 90 && a.n_tri == 29043 && a.dup_tri == 0, "aifb relations/triples");
        CHECK(a.n_split[KG_TRAIN] == 140 && a.n_split[KG_TEST] == 36 && a.n_classes == 4, "aifb splits");
        count_split(&a, KG_TRAIN, pc);
        CHECK(pc[0] == 58 && pc[1] == 22 && pc[2] == 48 && pc[3] == 12, "aifb train classes");
        count_split(&a, KG_TEST, pc);
        CHECK(pc[0] == 15 && pc[1] == 6 && pc[2] == 12 && pc[3] == 3, "aifb test classes");
        for (int r = 0; r < a.n_base_rel; r++)
            CHECK(!strstr(a.rel_names[r], "#affiliation") && !strstr(a.rel_names[r], "#employs"), "aifb label predicate");
        for (int c = 0; c < a.n_classes; c++) CHECK(!strchr(a.class_names[c], '\r'), "CRLF stripped from classes");
        CHECK(!strcmp(a.class_names[0],
                      "http://www.aifb.uni-karlsruhe.de/Forschungsgruppen/viewForschungsgruppeOWL/id1instance"),
              "aifb class 0");
    }
    t0 = clock();
    snprintf(dir, sizeof dir, "%s/mutag", dd);
    rc = present[1] ? kg_load_rgcn(&m, dir, "mutag") : -1;
    CHECK(rc == 0 || !present[1], "mutag: %s", nl_error());
    if (rc == 0) {
        print_kg("mutag", &m, (double)(clock() - t0) / CLOCKS_PER_SEC);
        CHECK(m.n_nodes == 23644 && m.n_base_rel == 23 && m.n_tri == 74227, "mutag counts");
        CHECK(m.n_split[KG_TRAIN] == 272 && m.n_split[KG_TEST] == 68 && m.n_classes == 2, "mutag splits");
        count_split(&m, KG_TRAIN, pc);
        CHECK(pc[0] == 166 && pc[1] == 106 && !strcmp(m.class_names[1], "1.0"), "mutag train classes");
        count_split(&m, KG_TEST, pc);
        CHECK(pc[0] == 45 && pc[1] == 23, "mutag test classes");
        for (int r = 0; r < m.n_base_rel; r++) CHECK(!strstr(m.rel_names[r], "isMutagenic"), "mutag label predicate");
        kg_free(&m);
    }
    t0 = clock();
    snprintf(dir, sizeof dir, "%s/aifb-kgbench", dd);
    rc = present[2] ? kg_load_kgbench(&kb, dir) : -1;
    CHECK(rc == 0 || !present[2], "aifb-kgbench: %s", nl_error());
    if (rc == 0) {
        print_kg("aifb-kgbench", &kb, (double)(clock() - t0) / CLOCKS_PER_SEC);
        CHECK(kb.n_nodes == 8285 && kb.n_base_rel == 45 && kb.n_tri == 29043, "aifb-kgbench counts");
        int ann[3] = {0, 0, 0};
        for (int i = 0; i < kb.n_nodes; i++) {
            const char *d = kb.dtypes[kb.dtype[i]];
            ann[0] += !strcmp(d, "iri"), ann[1] += !strcmp(d, "blank_node"), ann[2] += !strcmp(d, "none");
        }
        CHECK(ann[0] == 2683 && ann[1] == 152 && ann[2] == 5450, "aifb-kgbench annotations iri/blank_node/none");
        CHECK(kb.n_split[1] == 104 && kb.n_split[2] == 36 && kb.n_split[3] == 36 && kb.n_classes == 4, "splits");
        count_split(&kb, KG_TRAIN, pc);
        CHECK(pc[0] == 43 && pc[1] == 18 && pc[2] == 37 && pc[3] == 6, "aifb-kgbench train classes");
        count_split(&kb, KG_TEST, pc);
        CHECK(pc[0] == 15 && pc[1] == 6 && pc[2] == 12 && pc[3] == 3, "aifb-kgbench test classes");
        if (a.n_nodes) { /* the same graph both ways: same relations, same triples per relation */
            int same = a.n_base_rel == kb.n_base_rel;
            for (int r = 0; same && r < a.n_base_rel; r++) {
                same = !strcmp(a.rel_names[r], kb.rel_names[r]);
                int ca = 0, cb = 0;
                for (int i = 0; i < a.n_tri; i++) ca += a.p[i] == r, cb += kb.p[i] == r;
                same &= ca == cb;
            }
            CHECK(same, "aifb and aifb-kgbench: same relations and triples per relation");
            /* the test people: same labels in both */
            int agree = 0;
            for (int i = 0; i < kb.n_nodes; i++)
                if (kb.split[i] == KG_TEST) {
                    int j = find_node(&a, kg_text(&kb, i));
                    agree += j >= 0 && a.split[j] == KG_TEST && a.label[j] == kb.label[i];
                }
            CHECK(agree == 36, "aifb test labels agree in both formats (%d)", agree);
        }
        kg_free(&kb);
    }
    kg_free(&a);
    t0 = clock();
    snprintf(dir, sizeof dir, "%s/mmlkg-synthetic", dd);
    rc = present[3] ? kg_load_kgbench(&mm, dir) : -1;
    CHECK(rc == 0 || !present[3], "mmlkg-synthetic: %s", nl_error());
    if (rc == 0) {
        print_kg("mmlkg-synthetic", &mm, (double)(clock() - t0) / CLOCKS_PER_SEC);
        CHECK(mm.n_nodes == 2301 && mm.n_base_rel == 25 && mm.n_tri == 2586 && mm.n_classes == 2, "mmlkg counts");
        CHECK(mm.n_split[1] == 163 && mm.n_split[2] == 41 && mm.n_split[3] == 52, "mmlkg splits");
        count_split(&mm, KG_TRAIN, pc);
        CHECK(pc[0] == 75 && pc[1] == 88, "mmlkg train classes");
        /* the README's nodes per annotation */
        static const struct {
            const char *dt;
            int n;
        } ann[] = {{"iri", 256}, {"XMLSchema#anyURI", 237}, {"XMLSchema#string", 233}, {"XMLSchema#float", 232},
                   {"XMLSchema#dateTime", 231}, {"dt#base64Image", 231}, {"XMLSchema#integer", 230},
                   {"XMLSchema#date", 225}, {"geosparql#wktLiteral", 221}, {"XMLSchema#gYear", 205}};
        for (size_t k = 0; k < sizeof ann / sizeof *ann; k++) {
            int cnt = 0;
            for (int i = 0; i < mm.n_nodes; i++) {
                const char *d = mm.dtypes[mm.dtype[i]];
                size_t dl = strlen(d), al = strlen(ann[k].dt);
                cnt += dl >= al && !strcmp(d + dl - al, ann[k].dt);
            }
            CHECK(cnt == ann[k].n, "mmlkg %s: %d nodes, README %d", ann[k].dt, cnt, ann[k].n);
        }
        t0 = clock();
        KgFeatures f;
        rc = kg_featurise(&mm, 256, &f);
        CHECK(rc == 0, "featurise mmlkg: %s", nl_error());
        if (rc == 0) {
            char rep[4096];
            ft_report_text(&f.rep, rep, sizeof rep);
            printf("  mmlkg-synthetic featurised in %.3f s:\n%s", (double)(clock() - t0) / CLOCKS_PER_SEC, rep);
            CHECK(f.rep.n_lit[FT_IMAGE] == 231 && f.rep.n_bad[FT_IMAGE] == 0, "231 images decode");
            CHECK(f.rep.n_lit[FT_WKT] == 221 && f.rep.n_bad[FT_WKT] == 0, "221 geometries");
            CHECK(f.rep.n_lit[FT_DATE] == 661 && f.rep.n_bad[FT_DATE] == 0, "661 dates and years");
            CHECK(f.rep.n_lit[FT_NUMBER] == 462 && f.rep.n_bad[FT_NUMBER] == 0, "462 numbers");
            CHECK(f.rep.n_lit[FT_TEXT] == 470 && f.rep.n_lit[FT_NONE] == 256, "470 strings and URIs, 256 IRIs");
            /* node 1386: libjpeg (islow, no fancy upsampling) gives channel sums 6709473, 6709192,
               6710551 over 200x200 pixels and (249,255,255) at (0,0) */
            int r = -1;
            for (int k = 0; k < f.n[FT_IMAGE]; k++)
                if (f.node[FT_IMAGE][k] == 1386) r = k;
            const char *t = r >= 0 ? kg_text(&mm, 1386) : "";
            uint8_t *bytes = NULL, *px = NULL;
            size_t bn = 0;
            int w = 0, h = 0, c = 0;
            if (r >= 0 && ft_base64(t, strlen(t), &bytes, &bn) == 0 && jpeg_decode(bytes, bn, "1386", &px, &w, &h, &c) == 0) {
                long s[3] = {0, 0, 0};
                for (int k = 0; k < w * h * 3; k++) s[k % 3] += px[k];
                CHECK(w == 200 && h == 200 && px[0] == 249 && px[1] == 255 && px[2] == 255, "node 1386 pixel (0,0)");
                CHECK(labs(s[0] - 6709473) < 2000 && labs(s[1] - 6709192) < 2000 && labs(s[2] - 6710551) < 2000,
                      "node 1386 channel sums %ld %ld %ld", s[0], s[1], s[2]);
            } else {
                CHECK(0, "node 1386: %s", nl_error());
            }
            /* the real JPEG cut at 40 lengths and with 200 flipped bytes: a message or a picture */
            int sweep_ok = 1;
            for (size_t k = 0; bytes && k < bn; k += bn / 40 + 1) {
                uint8_t *q;
                nl_clear_error();
                if (jpeg_decode(bytes, k, "cut1386.jpg", &q, &w, &h, &c) == 0) free(q), sweep_ok = 0;
                else if (!msg_ok("cut1386.jpg", NULL)) sweep_ok = 0;
            }
            uint8_t *cp = bytes ? malloc(bn) : NULL;
            for (size_t k = 0; cp && k < 200; k++) {
                uint8_t *q;
                memcpy(cp, bytes, bn);
                cp[(k * 7919) % bn] ^= (uint8_t)(1 + k % 255);
                nl_clear_error();
                if (jpeg_decode(cp, bn, "flip1386.jpg", &q, &w, &h, &c) == 0) free(q);
                else if (!msg_ok("flip1386.jpg", NULL)) sweep_ok = 0;
            }
            free(cp);
            CHECK(sweep_ok, "node 1386 truncations and corruptions");
            free(bytes);
            free(px);
            kg_features_free(&f);
        }
        kg_free(&mm);
    }
    if (present[0]) { /* N-Triples prefixes of the real file's first 4 KB */
        snprintf(dir, sizeof dir, "%s/aifb/aifb_stripped.nt.gz", dd);
        size_t n;
        uint8_t *gz = slurp(dir, &n);
        CHECK(gz != NULL, "aifb gz");
        int ok = 1;
        KG g;
        for (size_t k = 0; gz && k < n && k < 4096; k += 7) {
            uint8_t *cp = malloc(k + 1);
            memcpy(cp, gz, k);
            nl_clear_error();
            if (kg_read_ntriples(&g, (KgFile){cp, k, "aifb.nt.gz"}, NULL, 0, kf(tsv_train, "train.tsv"), none, none,
                                 "ent", "cls") == 0)
                kg_free(&g), ok = 0;
            else if (!msg_ok("aifb.nt.gz", NULL)) ok = 0;
            free(cp);
        }
        CHECK(ok, "truncated aifb gzip refused with messages");
        free(gz);
    }
}

int main(void) {
    test_ntriples();
    test_kgbench();
    test_featurisers();
    test_jpeg();
    test_featurise_kg();
    sweep_nt();
    sweep_kgbench();
    test_real();
    return check_summary("test_kg");
}
