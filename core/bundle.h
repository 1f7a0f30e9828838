/* bundle.h: one file that holds a knowledge graph in the kgbench layout (a graph-subset
   bundle), so a page's file picker takes one file and the core reads it with kg_read_kgbench.

   Layout (little-endian):
     0   char[8]  magic "NLKGBND1"
     8   u32      version (1)
     12  u32      n, the number of members (1..KGB_MAX_MEMBERS)
     16  n entries of 48 bytes:
           char[28] name, NUL-terminated and NUL-padded (printable ASCII)
           u32      CRC-32 of the member's bytes
           u64      offset of the member from the start of the file
           u64      length in bytes
     16 + 48 n    u32 CRC-32 of bytes 0 .. 16 + 48 n (the header)
     then the members' bytes, in entry order, back to back.
   Members (kgbench CSVs, RFC-4180, every text field quoted):
     manifest.json        what made the bundle: format, version, source, hops, max_nodes, seed,
                          node/triple/labelled counts of the subgraph and of the source
     nodes.int.csv        index,annotation,label   (annotation: "iri", "blank_node" or the
                          literal's datatype, as kgbench; label: the node's text)
     relations.int.csv    index,label
     triples.int.csv      subject,predicate,object (integers, sorted by (p, s, o))
     training.int.csv, validation.int.csv, testing.int.csv    node_index,class_index
     classes.csv          index,label   (the class names: IRIs for aifb/mutag)
     mapping.int.csv      index,original_index   (node id here -> node id in the source)
   The reader needs all of them except validation.int.csv and classes.csv; unknown members
   are skipped (room for later versions).

   Reading never trusts the file: the magic, version, counts, every offset and length (no
   overflow, inside the file), both CRCs, the names, the mapping (one row per node, in
   order, ids >= 0) and the class table are checked, and the CSVs go through the kgbench
   reader's own checks. Every failure is a message naming the file and what is wrong, with
   a hint; a truncated or flipped file never crashes (fuzzed: tests/fuzz/fuzz_bundle.c). */
#ifndef NL_BUNDLE_H
#define NL_BUNDLE_H

#include "kg.h"

#include <stddef.h>
#include <stdint.h>

#define KGB_MAGIC "NLKGBND1"
#define KGB_VERSION 1
#define KGB_MAX_MEMBERS 32

/* writes g (with orig[i], the source id of node i, or NULL for the identity) and the
   manifest text into one malloc'd buffer */
int kg_bundle_write(const KG *g, const int *orig, const char *manifest, uint8_t **out, size_t *len);

/* reads a bundle; *orig (n_nodes ints) and *manifest (a NUL-terminated copy) are malloc'd
   (either pointer may be NULL when not wanted). On failure g is empty and nothing is kept. */
int kg_bundle_read(const uint8_t *buf, size_t len, const char *what, KG *g, int **orig, char **manifest);

/* 1 if buf starts with the bundle magic */
int kg_is_bundle(const uint8_t *buf, size_t len);

#endif
