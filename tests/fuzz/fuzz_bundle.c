/* fuzz_bundle.c: libFuzzer harness for the graph-subset bundle reader (core/bundle.c), and
   the subgraph and EDA of what it reads.
   The first byte picks a mode, the rest is the file: mode 0 reads it as is (the magic,
   header and CRC checks); mode 1 first rewrites every CRC the header describes, where the
   entries are in range, so mutations get past the checksums into the CSVs, the mapping and
   the class table. A graph that reads gets its EDA and a 1-hop subgraph written as a
   bundle and read again. Invariants: no crash or sanitizer report; ids in range; on
   failure a message with a hint; a bundle we write always reads back.
   Seeds (tests/fuzz/seeds/fuzz_bundle): the 1,201-byte bundle `noisylab graph-subset DIR
   --hops 1 --max-nodes 6` writes for a 6-node kgbench folder, after a mode byte 0 or 1. */
#include "bundle.h"
#include "eda.h"
#include "err.h"
#include "readers.h"
#include "subgraph.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rd32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_crcs(uint8_t *b, size_t len) {
    if (len < 16) return;
    uint32_t n = rd32(b + 12);
    if (n < 1 || n > KGB_MAX_MEMBERS || len < 16 + 48 * (size_t)n + 4) return;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t *e = b + 16 + 48 * (size_t)k;
        uint64_t off = rd32(e + 32) | (uint64_t)rd32(e + 36) << 32, sz = rd32(e + 40) | (uint64_t)rd32(e + 44) << 32;
        if (off <= len && sz <= len - off) wr32(e + 28, crc32_update(0, b + off, (size_t)sz));
    }
    size_t head = 16 + 48 * (size_t)n;
    wr32(b + head, crc32_update(0, b, head));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t n = size - 1;
    uint8_t *own = malloc(n + 1);
    memcpy(own, data + 1, n);
    if (data[0] & 1) fix_crcs(own, n);
    KG g;
    int *orig = NULL;
    char *man = NULL;
    if (kg_bundle_read(own, n, "fuzz.nlkg", &g, &orig, &man) == 0) {
        for (int i = 0; i < g.n_tri; i++)
            if (g.s[i] < 0 || g.s[i] >= g.n_nodes || g.o[i] < 0 || g.o[i] >= g.n_nodes || g.p[i] >= g.n_base_rel) abort();
        Eda e;
        if (eda_kg(&g, &e) == 0) {
            char *j = eda_json(&e, "fuzz");
            free(j);
            eda_free(&e);
        }
        KG s;
        int *so;
        SubReport r;
        if (kg_subgraph(&g, 1, g.n_nodes, 1, &s, &so, NULL, &r) == 0) {
            uint8_t *b;
            size_t bl;
            if (kg_bundle_write(&s, so, man, &b, &bl) == 0) {
                KG back;
                if (kg_bundle_read(b, bl, "again.nlkg", &back, NULL, NULL)) abort(); /* ours always reads */
                if (back.n_nodes != s.n_nodes || back.n_tri != s.n_tri) abort();
                kg_free(&back);
                free(b);
            }
            kg_free(&s);
            free(so);
        } else if (!strstr(nl_error(), " Hint: ")) {
            abort();
        }
        kg_free(&g);
        free(orig);
        free(man);
    } else if (!strstr(nl_error(), " Hint: ")) {
        abort();
    }
    free(own);
    return 0;
}
