/* fuzz_kgcsv.c: libFuzzer harness for the kgbench CSV reader and the literal featurisers.
   The first byte picks the file the rest of the input replaces: 0 nodes.int.csv, 1
   triples.int.csv, 2 relations.int.csv, 3 training.int.csv (the other files are small
   fixed ones). A graph that reads is featurised (text_dim 16), so mutated literals reach
   the number, date, WKT, base64 and image featurisers. Invariants: no crash or sanitizer
   report; ids in range; on failure a message with a hint; featurising never fails. */
#include "err.h"
#include "featurise.h"
#include "kg.h"

#include <stdlib.h>
#include <string.h>

static const char *nodes = "\"index\",\"annotation\",\"label\"\n0,\"iri\",\"http://x/a\"\n"
                           "1,\"http://www.w3.org/2001/XMLSchema#string\",\"a, \"\"b\"\"\nc\"\n"
                           "2,\"http://www.opengis.net/ont/geosparql#wktLiteral\",\"POLYGON ((0 0, 1 0, 1 1, 0 0))\"\n"
                           "3,\"http://www.w3.org/2001/XMLSchema#date\",\"2001-02-03\"\n";
static const char *triples = "0, 0, 1\n0, 1, 2\n3, 0, 0\n";
static const char *relations = "\"index\",\"label\"\n0,\"http://x/p\"\n1,\"http://x/q\"\n";
static const char *train = "0,0\n3,1\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = data[0] & 3;
    const char *src[4] = {nodes, triples, relations, train};
    size_t n = size - 1;
    uint8_t *own = malloc(n + 1);
    memcpy(own, data + 1, n);
    KgFile f[4];
    const char *names[4] = {"nodes.int.csv", "triples.int.csv", "relations.int.csv", "training.int.csv"};
    for (int i = 0; i < 4; i++) f[i] = (KgFile){(const uint8_t *)src[i], strlen(src[i]), names[i]};
    f[which].buf = own, f[which].len = n;
    KG g;
    KgFile none = {NULL, 0, "none"};
    if (kg_read_kgbench(&g, f[1], f[0], f[2], f[3], none, none) == 0) {
        for (int i = 0; i < g.n_tri; i++)
            if (g.s[i] < 0 || g.s[i] >= g.n_nodes || g.o[i] < 0 || g.o[i] >= g.n_nodes || g.p[i] >= g.n_base_rel) abort();
        KgFeatures ft;
        if (kg_featurise(&g, 16, &ft)) abort();
        for (int m = 1; m < FT_N; m++)
            for (size_t k = 0; k < (size_t)ft.n[m] * ft.dim[m]; k++)
                if (ft.x[m][k] != ft.x[m][k]) abort(); /* no NaN */
        kg_features_free(&ft);
        kg_free(&g);
    } else if (!strstr(nl_error(), " Hint: ")) {
        abort();
    }
    free(own);
    return 0;
}
