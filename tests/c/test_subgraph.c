/* test_subgraph.c: k-hop subgraphs (core/subgraph.c), bundles (core/bundle.c) and graph
   statistics (core/eda.c).

   1. A hand-made KG of 10 nodes and 8 triples (kgbench CSVs inline):

          5 -q-> 0 -p-> 1 -p-> 2 -q-> 3 -p-> 4        6 -p-> 7 -q-> 8 -p-> 8 (self loop)   9
          labelled: 0 train c0, 2 valid c1, 4 train c1, 6 test c0

      exact nodes, stages and triples for hops 1 and 2, the random fill, a capped hop
      (deterministic per seed, varying across seeds), every triple of a subgraph is a
      triple of the source, and the whole graph comes back unchanged.
   2. Bad input: hops < 0, max_nodes < 1, max_nodes below the labelled set (both numbers
      in the message), an empty graph, a subgraph without triples.
   3. Bundles: write/read round trip (nodes, kinds, datatypes, texts with quotes and
      newlines, triples, labels, splits, class names, mapping); every prefix and every byte
      flip of a bundle fails with a message, never a crash (ASan/UBSan).
   4. EDA of the hand-made KG against hand-computed values; its JSON. The C API of the
      graph tools (wasm/graph.c): files by name, a missing file, an unknown format, a bundle
      loaded again and subset once more. A star of 100,000 labelled leaves: 5e9 two-hop paths
      counted in linear time.
   5. Real data when ../shared/datasets (or $NOISYLAB_DATA_DIR) is there, else a printed
      skip: Cora's known statistics; an AIFB subset through a bundle and back.
   Run from the repo root. */
#include "bundle.h"
#include "check.h"
#include "eda.h"
#include "err.h"
#include "kg.h"
#include "noisylab.h"
#include "subgraph.h"

#include <stdlib.h>
#include <string.h>

static KgFile kf(const char *s, const char *what) { return (KgFile){(const uint8_t *)s, s ? strlen(s) : 0, what}; }

static int msg_ok(const char *sub) {
    const char *m = nl_error();
    size_t n = strlen(m);
    return strstr(m, " Hint: ") && n > 0 && m[n - 1] == '.' && (!sub || strstr(m, sub));
}

static const char *nodes = "index,annotation,label\n"
                           "0,iri,http://x/n0\n1,iri,http://x/n1\n2,iri,http://x/n2\n3,iri,http://x/n3\n"
                           "4,iri,http://x/n4\n5,blank_node,_:b5\n6,iri,http://x/n6\n7,iri,http://x/n7\n"
                           "8,\"http://www.w3.org/2001/XMLSchema#string\",\"hello, \"\"world\"\"\nsecond line\"\n"
                           "9,\"http://www.w3.org/2001/XMLSchema#gYear\",1990\n";
static const char *rels = "index,label\n0,http://x/p\n1,http://x/q\n";
static const char *tris = "0,0,1\n1,0,2\n2,1,3\n3,0,4\n5,1,0\n6,0,7\n7,1,8\n8,0,8\n";
static const char *train = "0,0\n4,1\n";
static const char *valid = "2,1\n";
static const char *test = "6,0\n";

static int load(KG *g) {
    int rc = kg_read_kgbench(g, kf(tris, "triples.int.csv"), kf(nodes, "nodes.int.csv"), kf(rels, "relations.int.csv"),
                             kf(train, "training.int.csv"), kf(valid, "validation.int.csv"), kf(test, "testing.int.csv"));
    CHECK(rc == 0, "the small KG reads: %s", nl_error());
    return rc;
}

static int has_triple(const KG *g, int s, int p, int o) {
    for (int t = 0; t < g->n_tri; t++)
        if (g->s[t] == s && g->p[t] == p && g->o[t] == o) return 1;
    return 0;
}

/* every triple of sub maps to one of g, sub has every triple of g inside its node set,
   texts/labels/splits are carried, the map is ascending */
static void check_consistent(const KG *g, const KG *sub, const int *orig, const char *what) {
    int *in = malloc((size_t)g->n_nodes * sizeof *in), ok = 1;
    for (int v = 0; v < g->n_nodes; v++) in[v] = -1;
    for (int i = 0; i < sub->n_nodes; i++) {
        in[orig[i]] = i;
        if (i && orig[i] <= orig[i - 1]) ok = 0;
        if (strcmp(kg_text(sub, i), kg_text(g, orig[i])) || sub->label[i] != g->label[orig[i]] ||
            sub->split[i] != g->split[orig[i]] || sub->kind[i] != g->kind[orig[i]] ||
            strcmp(sub->dtypes[sub->dtype[i]], g->dtypes[g->dtype[orig[i]]]))
            ok = 0;
    }
    CHECK(ok, "%s: nodes carried over in ascending original order", what);
    int inside = 0;
    for (int t = 0; t < g->n_tri; t++) inside += in[g->s[t]] >= 0 && in[g->o[t]] >= 0;
    CHECK(inside == sub->n_tri, "%s: %d triples inside the node set, %d kept", what, inside, sub->n_tri);
    ok = 1;
    for (int t = 0; t < sub->n_tri; t++) {
        if (!has_triple(g, orig[sub->s[t]], sub->p[t], orig[sub->o[t]])) ok = 0;
        if (t && (sub->p[t - 1] > sub->p[t] || (sub->p[t - 1] == sub->p[t] && (sub->s[t - 1] > sub->s[t] ||
                  (sub->s[t - 1] == sub->s[t] && sub->o[t - 1] >= sub->o[t])))))
            ok = 0;
    }
    CHECK(ok, "%s: every triple is a source triple, sorted by (p, s, o)", what);
    free(in);
}

/* ---- 1. extraction */

static void test_extract(void) {
    KG g, s;
    int *orig, *stage;
    SubReport r;
    if (load(&g)) return;

    /* hops 1: the labelled nodes 0 2 4 6, then their neighbours 1 3 5 7 (5 through a triple into 0) */
    int rc = kg_subgraph(&g, 1, 8, 0, &s, &orig, &stage, &r);
    CHECK(rc == 0, "hops 1: %s", nl_error());
    if (!rc) {
        int want[8] = {0, 1, 2, 3, 4, 5, 6, 7}, wst[8] = {0, 1, 0, 1, 0, 1, 0, 1};
        CHECK(s.n_nodes == 8 && !memcmp(orig, want, sizeof want) && !memcmp(stage, wst, sizeof wst), "hops 1 nodes");
        CHECK(r.n_labelled == 4 && r.n_hops == 4 && r.n_fill == 0 && r.last_hop == 1 && r.capped_hop == 0, "hops 1 report");
        /* (p, s, o): p: 0-1 1-2 3-4 6-7, q: 2-3 5-0 */
        int ws[6] = {0, 1, 3, 6, 2, 5}, wp[6] = {0, 0, 0, 0, 1, 1}, wo[6] = {1, 2, 4, 7, 3, 0};
        CHECK(s.n_tri == 6 && !memcmp(s.s, ws, sizeof ws) && !memcmp(s.p, wp, sizeof wp) && !memcmp(s.o, wo, sizeof wo),
              "hops 1 triples (%d)", s.n_tri);
        CHECK(s.n_split[KG_TRAIN] == 2 && s.n_split[KG_VALID] == 1 && s.n_split[KG_TEST] == 1, "splits carried");
        check_consistent(&g, &s, orig, "hops 1");
        kg_free(&s), free(orig), free(stage);
    }
    /* hops 2 adds 8 (through 7); more hops add nothing; the random fill then takes 9 */
    rc = kg_subgraph(&g, 2, 9, 0, &s, &orig, &stage, &r);
    CHECK(rc == 0 && s.n_nodes == 9 && orig[8] == 8 && stage[8] == 2 && s.n_tri == 8 && r.last_hop == 2, "hops 2: %s",
          nl_error());
    if (!rc) kg_free(&s), free(orig), free(stage);
    rc = kg_subgraph(&g, 5, 10, 7, &s, &orig, &stage, &r);
    CHECK(rc == 0 && s.n_nodes == 10 && stage[9] == -1 && r.n_fill == 1 && r.last_hop == 2, "fill: %s", nl_error());
    if (!rc) {
        /* every node: the source itself */
        int same = s.n_tri == g.n_tri && !memcmp(s.s, g.s, sizeof(int) * g.n_tri) && !memcmp(s.o, g.o, sizeof(int) * g.n_tri);
        for (int i = 0; i < 10; i++) same &= orig[i] == i;
        CHECK(same, "a subgraph of every node is the graph");
        check_consistent(&g, &s, orig, "whole");
        kg_free(&s), free(orig), free(stage);
    }
    /* a capped hop: 2 of the 4 hop-1 candidates, the same for the same seed, varying with it */
    int seen[16] = {0}, distinct = 0;
    for (int seed = 0; seed < 20; seed++) {
        int *o2, rc2;
        KG s2;
        rc = kg_subgraph(&g, 3, 6, (uint64_t)seed, &s, &orig, &stage, &r);
        rc2 = kg_subgraph(&g, 3, 6, (uint64_t)seed, &s2, &o2, NULL, &r);
        CHECK(rc == 0 && rc2 == 0, "capped seed %d: %s", seed, nl_error());
        if (rc || rc2) {
            if (!rc) kg_free(&s), free(orig), free(stage);
            if (!rc2) kg_free(&s2), free(o2);
            continue;
        }
        CHECK(s.n_nodes == 6 && r.capped_hop == 1 && r.n_hops == 2 && r.last_hop == 1 && r.n_fill == 0,
              "capped seed %d: %d nodes, capped hop %d", seed, s.n_nodes, r.capped_hop);
        CHECK(s2.n_nodes == s.n_nodes && !memcmp(orig, o2, sizeof(int) * s.n_nodes) && s2.n_tri == s.n_tri,
              "seed %d: the same subgraph twice", seed);
        int mask = 0;
        for (int i = 0; i < s.n_nodes; i++)
            if (stage[i] == 1) mask |= 1 << ((orig[i] - 1) / 2); /* candidates 1 3 5 7 -> bits 0..3 */
        if (!seen[mask]++) distinct++;
        check_consistent(&g, &s, orig, "capped");
        kg_free(&s), free(orig), free(stage), kg_free(&s2), free(o2);
    }
    CHECK(distinct >= 3, "20 seeds give %d different hop samples", distinct);
    kg_free(&g);
}

/* ---- 2. bad input */

static void test_bad(void) {
    KG g, s;
    int *orig;
    SubReport r;
    if (load(&g)) return;
    nl_clear_error();
    CHECK(kg_subgraph(&g, -1, 100, 0, &s, &orig, NULL, &r) < 0 && msg_ok("hops is -1") && !orig, "hops < 0: %s", nl_error());
    CHECK(kg_subgraph(&g, 1, 0, 0, &s, &orig, NULL, &r) < 0 && msg_ok("max_nodes is 0"), "max_nodes 0: %s", nl_error());
    CHECK(kg_subgraph(&g, 1, 3, 0, &s, &orig, NULL, &r) < 0 &&
              msg_ok("max_nodes 3 is smaller than the 4 labelled nodes") && msg_ok("--max-nodes 4"),
          "max_nodes below the labelled set: %s", nl_error());
    CHECK(kg_subgraph(&g, 0, 4, 0, &s, &orig, NULL, &r) < 0 && msg_ok("none of the 8 triples"), "no triple: %s", nl_error());
    CHECK(s.n_nodes == 0 && s.s == NULL, "nothing left on failure");
    KG empty = {0};
    CHECK(kg_subgraph(&empty, 1, 10, 0, &s, &orig, NULL, &r) < 0 && msg_ok("empty"), "empty graph: %s", nl_error());
    Eda e;
    CHECK(eda_kg(&empty, &e) < 0 && msg_ok("empty"), "eda of an empty graph: %s", nl_error());
    /* a graph with no labelled node */
    int *lab = g.label;
    g.label = calloc((size_t)g.n_nodes, sizeof *g.label);
    for (int i = 0; i < g.n_nodes; i++) g.label[i] = -1;
    CHECK(kg_subgraph(&g, 1, 10, 0, &s, &orig, NULL, &r) < 0 && msg_ok("no labelled node"), "unlabelled: %s", nl_error());
    free(g.label);
    g.label = lab;
    kg_free(&g);
}

/* ---- 3. bundles */

static void test_bundle(void) {
    KG g, s, b;
    int *orig, *borig;
    char *man;
    SubReport r;
    if (load(&g)) return;
    /* class names as an N-Triples source has them, with a quote */
    free(g.class_names[0]);
    g.class_names[0] = malloc(16);
    strcpy(g.class_names[0], "http://x/\"g\"");
    if (kg_subgraph(&g, 2, 10, 3, &s, &orig, NULL, &r)) {
        CHECK(0, "subgraph for the bundle: %s", nl_error());
        kg_free(&g);
        return;
    }
    for (int i = 0; i < s.n_nodes; i++) orig[i] += 100; /* a mapping that is not the identity */
    uint8_t *buf;
    size_t len;
    int rc = kg_bundle_write(&s, orig, "{\"source\":\"test\"}", &buf, &len);
    CHECK(rc == 0 && kg_is_bundle(buf, len), "bundle written: %s", nl_error());
    if (rc) return;
    rc = kg_bundle_read(buf, len, "t.bundle", &b, &borig, &man);
    CHECK(rc == 0, "bundle read: %s", nl_error());
    if (!rc) {
        int same = b.n_nodes == s.n_nodes && b.n_tri == s.n_tri && b.n_base_rel == s.n_base_rel && b.n_classes == s.n_classes;
        for (int i = 0; same && i < s.n_nodes; i++)
            same = !strcmp(kg_text(&b, i), kg_text(&s, i)) && b.kind[i] == s.kind[i] && b.label[i] == s.label[i] &&
                   b.split[i] == s.split[i] && borig[i] == orig[i] && !strcmp(b.dtypes[b.dtype[i]], s.dtypes[s.dtype[i]]);
        for (int t = 0; same && t < s.n_tri; t++) same = b.s[t] == s.s[t] && b.p[t] == s.p[t] && b.o[t] == s.o[t];
        for (int c = 0; same && c < s.n_classes; c++) same = !strcmp(b.class_names[c], s.class_names[c]);
        for (int k = 0; same && k < s.n_base_rel; k++) same = !strcmp(b.rel_names[k], s.rel_names[k]);
        CHECK(same, "the bundle gives back the subgraph");
        CHECK(!strcmp(man, "{\"source\":\"test\"}"), "manifest: %s", man);
        CHECK(!strcmp(kg_text(&b, 8), "hello, \"world\"\nsecond line"), "quoted text: [%s]", kg_text(&b, 8));
        kg_free(&b), free(borig), free(man);
    }
    /* every prefix and every byte flip: a message, never a crash */
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        nl_clear_error();
        if (kg_bundle_read(buf, n, "cut.bundle", &b, &borig, &man) == 0) bad++, kg_free(&b), free(borig), free(man);
        else if (!msg_ok("cut.bundle")) bad++;
    }
    CHECK(bad == 0, "%d of %zu prefixes did not fail with a message (%s)", bad, len, nl_error());
    uint8_t *copy = malloc(len);
    bad = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, buf, len);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        nl_clear_error();
        if (kg_bundle_read(copy, len, "flip.bundle", &b, NULL, NULL) == 0) bad++, kg_free(&b);
        else if (!msg_ok("flip.bundle")) bad++;
    }
    CHECK(bad == 0, "%d of %zu byte flips were not refused with a message", bad, len);
    nl_clear_error();
    kg_bundle_read(buf, 30, "short.bundle", &b, NULL, NULL);
    CHECK(msg_ok("shorter than its own header"), "truncated header: %s", nl_error());
    kg_bundle_read(buf, len - 10, "cut.bundle", &b, NULL, NULL);
    CHECK(msg_ok("cut short"), "truncated member: %s", nl_error());
    kg_bundle_read((const uint8_t *)"hello world, not a bundle", 25, "x.txt", &b, NULL, NULL);
    CHECK(msg_ok("not a graph-subset bundle"), "not a bundle: %s", nl_error());
    free(copy), free(buf), free(orig);
    kg_free(&s), kg_free(&g);
}

/* ---- 4. EDA */

static void test_eda(void) {
    KG g;
    Eda e;
    if (load(&g)) return;
    int rc = eda_kg(&g, &e);
    CHECK(rc == 0, "eda: %s", nl_error());
    if (rc) return;
    CHECK(e.n_nodes == 10 && e.n_edges == 8 && e.self_loops == 1 && e.n_rel == 2 && e.rel_used == 2, "counts");
    CHECK(e.kinds[KG_IRI] == 7 && e.kinds[KG_BLANK] == 1 && e.kinds[KG_LITERAL] == 2, "kinds %d %d %d", e.kinds[0],
          e.kinds[1], e.kinds[2]);
    CHECK(e.modality[FT_TEXT] == 1 && e.modality[FT_DATE] == 1 && e.modality[FT_IMAGE] == 0, "modalities");
    /* degrees 2 2 2 2 1 1 1 2 3 0 */
    CHECK(e.deg_bins == 3 && e.deg_hist[0] == 1 && e.deg_hist[1] == 3 && e.deg_hist[2] == 6, "log2 bins %ld %ld %ld",
          e.deg_hist[0], e.deg_hist[1], e.deg_hist[2]);
    CHECK(e.deg_min == 0 && e.deg_max == 3 && e.deg_median == 2 && e.isolated == 1, "degree min/max/median");
    CHECK_CLOSE(e.deg_mean, 1.6, 1e-12, "mean degree");
    CHECK(e.top_n == 2 && e.top_rel[0] == 0 && e.top_count[0] == 5 && e.top_rel[1] == 1 && e.top_count[1] == 3, "top relations");
    CHECK(e.components == 3 && e.largest == 6 && e.singletons == 1 && e.labelled_in_largest == 3, "components %d %d %d %d",
          e.components, e.largest, e.singletons, e.labelled_in_largest);
    int *lc = e.label_counts;
    CHECK(lc[2 + 0] == 1 && lc[2 + 1] == 1 && lc[4 + 1] == 1 && lc[6 + 0] == 1 && e.labelled == 4 && e.unlabelled == 6,
          "labels per split");
    /* no two labelled nodes touch; paths 0-1-2 (differ) and 2-3-4 (agree) */
    CHECK(e.labelled_pairs == 0 && e.paths2 == 2 && e.same_paths2 == 1, "homophily pairs %ld paths %g same %g",
          e.labelled_pairs, e.paths2, e.same_paths2);
    CHECK_CLOSE(e.chance, 4.0 / 12, 1e-12, "chance agreement");
    char *j = eda_json(&e, "small \"kg\"");
    CHECK(j && strstr(j, "\"edge\":null") && strstr(j, "\"two_hop\":0.500000") && strstr(j, "\"name\":\"small \\\"kg\\\"\"") &&
              strstr(j, "\"training\":[1,1],\"validation\":[0,1],\"test\":[1,0]") &&
              strstr(j, "{\"lo\":2,\"hi\":3,\"count\":6}"),
          "json: %s", j ? j : nl_error());
    free(j);
    eda_free(&e);
    /* a triple between two labelled nodes: edge homophily counts the pair once */
    g.label[1] = 1, g.split[1] = KG_TEST;
    g.label[3] = 1, g.split[3] = KG_TEST;
    rc = eda_kg(&g, &e);
    /* labelled pairs: 0-1 (0,1 differ), 1-2 (1,1 agree), 2-3 (agree), 3-4 (agree) */
    CHECK(rc == 0 && e.labelled_pairs == 4 && e.same_pairs == 3, "edge homophily %ld/%ld", e.same_pairs, e.labelled_pairs);
    eda_free(&e);
    kg_free(&g);
}

/* ---- 4c. a star of 100,000 labelled leaves: 5e9 two-hop paths through one hub, counted in
   linear time (a pairwise method would never finish) */

static void test_star(void) {
    enum { LEAVES = 100000 };
    size_t cap = 64 * (size_t)LEAVES;
    char *nd = malloc(cap), *tr = malloc(cap), *sp = malloc(cap);
    size_t a = 0, b = 0, c = 0;
    a += (size_t)snprintf(nd + a, cap - a, "index,annotation,label\n0,iri,http://x/hub\n");
    for (int i = 1; i <= LEAVES; i++) {
        a += (size_t)snprintf(nd + a, cap - a, "%d,iri,http://x/leaf%d\n", i, i);
        b += (size_t)snprintf(tr + b, cap - b, "%d,0,0\n", i);
        c += (size_t)snprintf(sp + c, cap - c, "%d,%d\n", i, i % 2);
    }
    KG g;
    int rc = kg_read_kgbench(&g, (KgFile){(uint8_t *)tr, b, "triples"}, (KgFile){(uint8_t *)nd, a, "nodes"},
                             kf("index,label\n0,http://x/in\n", "relations"), (KgFile){(uint8_t *)sp, c, "training"},
                             (KgFile){NULL, 0, "validation"}, (KgFile){NULL, 0, "testing"});
    free(nd), free(tr), free(sp);
    CHECK(rc == 0, "star: %s", nl_error());
    if (rc) return;
    Eda e;
    rc = eda_kg(&g, &e);
    CHECK(rc == 0, "eda star: %s", nl_error());
    if (!rc) {
        double L = LEAVES, H = LEAVES / 2;
        CHECK(e.labelled_pairs == 0 && e.paths2 == L * (L - 1) / 2 && e.same_paths2 == H * (H - 1), "star paths %.0f same %.0f",
              e.paths2, e.same_paths2);
        CHECK(e.deg_hist[1] == LEAVES && e.deg_hist[17] == 1 && e.deg_bins == 18 && e.deg_max == LEAVES && e.components == 1,
              "star degrees");
        eda_free(&e);
    }
    KG s;
    int *orig;
    SubReport r;
    CHECK(kg_subgraph(&g, 1, LEAVES, 0, &s, &orig, NULL, &r) < 0 && msg_ok("none of the 100000 triples"),
          "the leaves alone have no triple: %s", nl_error());
    rc = kg_subgraph(&g, 1, LEAVES + 1, 0, &s, &orig, NULL, &r);
    CHECK(rc == 0 && s.n_nodes == LEAVES + 1 && s.n_tri == LEAVES && r.n_hops == 1, "star with its hub: %s", nl_error());
    if (!rc) kg_free(&s), free(orig);
    kg_free(&g);
}

/* ---- 4b. the C API of the graph tools (wasm/graph.c): files by name, formats, errors */

static void test_api(void) {
    NlGraph *g = nl_graph_new();
    const char *names[6] = {"triples.int.csv", "nodes.int.csv", "relations.int.csv", "training.int.csv",
                            "validation.int.csv", "testing.int.csv"};
    const char *data[6] = {tris, nodes, rels, train, valid, test};
    nl_clear_error();
    CHECK(nl_graph_eda_json(g) == NULL && msg_ok("no graph is loaded"), "eda before a load: %s", nl_error());
    for (int i = 0; i < 5; i++) nl_graph_add_file(g, names[i], (const uint8_t *)data[i], (uint32_t)strlen(data[i]));
    CHECK(nl_graph_load(g, "kgbench", "small") < 0 && msg_ok("the file testing.int.csv was not given"), "missing file: %s",
          nl_error());
    nl_graph_add_file(g, names[5], (const uint8_t *)data[5], (uint32_t)strlen(data[5]));
    CHECK(nl_graph_load(g, "csv", "small") < 0 && msg_ok("unknown format 'csv'"), "unknown format: %s", nl_error());
    CHECK(nl_graph_load(g, "kgbench", "small") == 0, "kgbench load: %s", nl_error());
    const char *j = nl_graph_eda_json(g);
    CHECK(j && strstr(j, "\"name\":\"small\"") && strstr(j, "\"nodes\":10"), "eda json: %s", j ? j : nl_error());
    uint32_t len = 0;
    const uint8_t *b = nl_graph_subset(g, 1, 8, 0, &len);
    CHECK(b && kg_is_bundle(b, len) && strstr(nl_graph_manifest(g), "\"nodes\":8,\"triples\":6"), "subset: %s",
          b ? nl_graph_manifest(g) : nl_error());
    CHECK(nl_graph_subset(g, 1, 2, 0, &len) == NULL && msg_ok("smaller than the 4 labelled"), "budget: %s", nl_error());
    /* the bundle, loaded again: a subset of it maps back to the first graph's ids */
    uint8_t *copy = malloc(len);
    memcpy(copy, b, len);
    NlGraph *h = nl_graph_new();
    nl_graph_add_file(h, "s.nlkg", copy, len);
    CHECK(nl_graph_load(h, "bundle", "s") == 0 && strstr(nl_graph_manifest(h), "\"source\":\"small\""), "bundle load: %s",
          nl_error());
    CHECK(nl_graph_subset(h, 0, 8, 0, &len) != NULL, "subset of a bundle: %s", nl_error());
    nl_graph_free(h);
    h = nl_graph_new();
    nl_graph_add_file(h, "a", copy, 10);
    nl_graph_add_file(h, "b", copy, 10);
    CHECK(nl_graph_load(h, "bundle", "x") < 0 && msg_ok("a bundle is one file (2 given)"), "two files: %s", nl_error());
    CHECK(nl_graph_load(h, "rgcn", "dblp") < 0 && msg_ok("'dblp' is not an R-GCN dataset"), "rgcn name: %s", nl_error());
    CHECK(nl_graph_load(h, "planetoid", "cora") < 0 && msg_ok("ind.cora.x was not given"), "planetoid files: %s", nl_error());
    nl_graph_free(h);
    free(copy);
    nl_graph_free(g);
    nl_graph_free(NULL);
}

/* ---- 5. real data */

static const char *data_dir(void) {
    const char *d = getenv("NOISYLAB_DATA_DIR");
    return d ? d : "../shared/datasets";
}

static int load_planetoid(Planetoid *p, const char *name) {
    const uint8_t *b[PL_FILES];
    size_t l[PL_FILES];
    uint8_t *own[PL_FILES] = {0};
    int ok = 1;
    for (int k = 0; k < PL_FILES; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/ind.%s.%s", data_dir(), name, name, planetoid_parts[k]);
        own[k] = kg_slurp(path, &l[k]);
        b[k] = own[k];
        ok &= own[k] != NULL;
    }
    int rc = ok ? planetoid_load(p, name, b, l) : 1;
    for (int k = 0; k < PL_FILES; k++) free(own[k]);
    return rc;
}

static void test_real(void) {
    Planetoid p;
    Eda e;
    int rc = load_planetoid(&p, "cora");
    if (rc > 0) printf("skip: %s/cora is absent\n", data_dir());
    else if (rc < 0) CHECK(0, "cora: %s", nl_error());
    else {
        rc = eda_planetoid(&p, &e);
        CHECK(rc == 0, "eda cora: %s", nl_error());
        /* Cora as PyG counts it: 10,556 directed = 5,278 undirected edges; 78 components, the
           largest of 2,485 nodes; edge homophily 0.81 */
        CHECK(e.n_nodes == 2708 && e.n_edges == 5278 && e.features == 1433 && e.n_classes == 7, "cora counts %d %ld",
              e.n_nodes, e.n_edges);
        CHECK(e.components == 78 && e.largest == 2485 && e.isolated == 0, "cora components %d largest %d", e.components,
              e.largest);
        CHECK(e.labelled_pairs == 5278 && e.same_pairs > 0.80 * 5278 && e.same_pairs < 0.82 * 5278, "cora homophily %ld/%ld",
              e.same_pairs, e.labelled_pairs);
        eda_free(&e);
        planetoid_free(&p);
    }
    KG g, s, b;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/aifb", data_dir());
    rc = kg_load_rgcn(&g, dir, "aifb");
    if (rc) {
        printf("skip: %s is absent or unreadable (%s)\n", dir, nl_error());
        return;
    }
    int *orig, *borig;
    SubReport r;
    rc = kg_subgraph(&g, 2, 5000, 0, &s, &orig, NULL, &r);
    CHECK(rc == 0 && s.n_nodes == 5000 && r.n_labelled == 176, "aifb subgraph: %s", nl_error());
    if (rc) {
        kg_free(&g);
        return;
    }
    printf("aifb hops 2 max 5000: %d labelled, %d by hops (last %d, capped %d), %d fill, %d triples\n", r.n_labelled,
           r.n_hops, r.last_hop, r.capped_hop, r.n_fill, s.n_tri);
    check_consistent(&g, &s, orig, "aifb");
    uint8_t *buf;
    size_t len;
    rc = kg_bundle_write(&s, orig, "{}", &buf, &len);
    CHECK(rc == 0, "aifb bundle: %s", nl_error());
    if (!rc) {
        rc = kg_bundle_read(buf, len, "aifb.bundle", &b, &borig, NULL);
        CHECK(rc == 0 && b.n_nodes == s.n_nodes && b.n_tri == s.n_tri && !memcmp(borig, orig, sizeof(int) * s.n_nodes) &&
                  !strcmp(b.class_names[0], g.class_names[0]),
              "aifb bundle round trip: %s", nl_error());
        if (!rc) kg_free(&b), free(borig);
        free(buf);
    }
    Eda e1, e2;
    if (!eda_kg(&g, &e1)) {
        CHECK(e1.n_nodes == 8285 && e1.n_edges == 29043 && e1.rel_used == 45 && e1.labelled == 176, "aifb eda counts");
        printf("aifb: %d components (largest %d), %ld labelled pairs, 2-hop homophily %.3f (chance %.3f)\n", e1.components,
               e1.largest, e1.labelled_pairs, e1.same_paths2 / e1.paths2, e1.chance);
        eda_free(&e1);
    }
    if (!eda_kg(&s, &e2)) eda_free(&e2);
    kg_free(&s), free(orig), kg_free(&g);
}

int main(void) {
    test_extract();
    test_bad();
    test_bundle();
    test_eda();
    test_api();
    test_star();
    test_real();
    return check_summary("test_subgraph");
}
