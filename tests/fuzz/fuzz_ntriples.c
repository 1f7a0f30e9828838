/* fuzz_ntriples.c: libFuzzer harness for the N-Triples + TSV reader (core/kg.c).
   The input is an N-Triples file; if it holds a 0 byte, the bytes after it are the
   training TSV (else a fixed one naming <http://x/a>), so mutations reach the split
   checks too. Invariants: no crash or sanitizer report; on success every triple's ids are
   in range and labels are < n_classes; on failure the message names a file and ends with
   a hint. */
#include "err.h"
#include "kg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *train = "ent\tcls\r\nhttp://x/a\tg1\r\n";
    const uint8_t *z = memchr(data, 0, size);
    size_t nt_len = z ? (size_t)(z - data) : size;
    uint8_t *nt = malloc(nt_len + 1); /* exact-size copies so ASan sees any overread */
    memcpy(nt, data, nt_len);
    size_t tr_len = z ? size - nt_len - 1 : strlen(train);
    uint8_t *tr = malloc(tr_len + 1);
    memcpy(tr, z ? z + 1 : (const uint8_t *)train, tr_len);
    const char *drop[] = {"http://x/label"};
    KG g;
    KgFile none = {NULL, 0, "none"};
    if (kg_read_ntriples(&g, (KgFile){nt, nt_len, "fuzz.nt"}, drop, 1, (KgFile){tr, tr_len, "train.tsv"}, none,
                         (KgFile){tr, tr_len, "test.tsv"}, "ent", "cls") == 0) {
        abort(); /* the same rows in train and test must be refused */
    }
    const char *m = nl_error();
    if ((!strstr(m, "fuzz.nt") && !strstr(m, ".tsv")) || !strstr(m, " Hint: ")) abort();
    if (kg_read_ntriples(&g, (KgFile){nt, nt_len, "fuzz.nt"}, drop, 1, (KgFile){tr, tr_len, "train.tsv"}, none, none,
                         "ent", "cls") == 0) {
        for (int i = 0; i < g.n_tri; i++)
            if (g.s[i] < 0 || g.s[i] >= g.n_nodes || g.o[i] < 0 || g.o[i] >= g.n_nodes || g.p[i] < 0 ||
                g.p[i] >= g.n_base_rel)
                abort();
        for (int i = 0; i < g.n_nodes; i++)
            if (g.label[i] >= g.n_classes || (g.label[i] >= 0) != (g.split[i] != KG_NONE)) abort();
        kg_free(&g);
    } else if (!strstr(nl_error(), " Hint: ")) {
        abort();
    }
    free(nt);
    free(tr);
    return 0;
}
