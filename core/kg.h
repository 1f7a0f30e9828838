/* kg.h: a relational graph (knowledge graph) for entity classification, and its readers.

   The graph (KG):
   - nodes 0..n_nodes-1: IRIs, blank nodes and literals, every one a node (the R-GCN
     setting: a literal is a node, two equal literals are one node). Each node has a kind,
     a datatype (index into dtypes) and its text (IRI, "_:label" or the literal's lexical
     form, unescaped, NUL-terminated).
   - relations: n_base_rel predicates 0..n_base_rel-1, sorted by IRI; n_rel = 2 * n_base_rel
     counts the inverses. The inverse of triple (s, p, o) is (o, p + n_base_rel, s); it is not
     stored. Self-loops are the model's business, not the graph's.
   - triples: n_tri forward triples in s/p/o, sorted by (p, s, o), duplicates removed (RDF
     graphs are sets). So the order depends only on the node and relation numbering.
   - labels: label[i] = class of node i, or -1 if unlabelled; split[i] = KG_TRAIN, KG_VALID,
     KG_TEST or KG_NONE. class_names[c] is the class's text (an IRI, "1.0", or "3").

   Node numbering: N-Triples give nodes in order of first appearance (subject, then object,
   line by line); kgbench files give it (the index column).

   Readers work on in-memory buffers (KgFile: bytes, length, a name for messages), so the
   WASM module and the tests use the same code; gzip'd buffers are detected by magic and
   inflated (capped at KG_MAX_BYTES). Every bad input (a malformed triple, a dangling node
   id, a split naming an unknown node, an unknown class, an empty graph, a count too large)
   fails with a message naming the file and line and ending in a hint (err.h). Memory grows
   with the input only: every count is checked before it is allocated. On failure the KG is
   left empty (kg_free is still safe).

   The native helpers kg_load_rgcn / kg_load_kgbench read the files of a dataset folder.

   kgbench's nodetypes.int.csv (index,annotation; in dmg777k and mmlkg-synthetic) is not
   read, on purpose: it only lists the distinct values of nodes.int.csv's annotation column
   (mmlkg-synthetic: the 9 literal datatypes and "iri"), and that column already gives each
   node's datatype as text, which is what dtype/dtypes hold here. kgbench's own loader derives
   the datatypes from the annotation column too. Its indices are not referenced by any other
   kgbench file, so a graph reads the same with or without it (dmg777k included). */
#ifndef NL_KG_H
#define NL_KG_H

#include <stddef.h>
#include <stdint.h>

enum { KG_IRI = 0, KG_BLANK = 1, KG_LITERAL = 2 };
enum { KG_NONE = 0, KG_TRAIN = 1, KG_VALID = 2, KG_TEST = 3 };

#define KG_MAX_BYTES ((size_t)1 << 30) /* largest (inflated) file a reader accepts */
#define KG_MAX_NODES 100000000          /* ids must fit an int with room to spare */
#define KG_MAX_CLASSES 65536

typedef struct {
    const uint8_t *buf;
    size_t len;
    const char *what; /* file name used in messages */
} KgFile;

typedef struct {
    int n_nodes;
    int n_base_rel, n_rel; /* n_rel = 2 * n_base_rel (inverses) */
    int n_tri;
    int *s, *p, *o; /* n_tri each */
    uint8_t *kind;  /* n_nodes: KG_IRI, KG_BLANK or KG_LITERAL */
    int *dtype;     /* n_nodes: index into dtypes */
    size_t *text_off; /* n_nodes: node text is text + text_off[i] */
    char *text;
    int n_dtypes;
    char **dtypes;    /* "iri", "blank_node", "" (plain literal), a datatype IRI, "@lang", "none" */
    char **rel_names; /* n_base_rel */
    int n_classes;
    char **class_names;
    int *label;      /* n_nodes, -1 = unlabelled */
    uint8_t *split;  /* n_nodes */
    int n_split[4];  /* nodes per split */
    int dropped_tri; /* triples skipped because their predicate is a label predicate */
    int dup_tri;     /* duplicate triples removed */
} KG;

static inline const char *kg_text(const KG *g, int i) { return g->text + g->text_off[i]; }

/* N-Triples (gzip'd or not) + R-GCN TSV splits (tab-separated, header, LF or CRLF).
   drop: predicate IRIs whose triples are left out (the label predicate and its inverse).
   ent_col / label_col: header names of the entity and class columns.
   valid may be empty (buf NULL). Classes are the training set's label texts, sorted. */
int kg_read_ntriples(KG *g, KgFile nt, const char *const *drop, int n_drop, KgFile train, KgFile valid,
                     KgFile test, const char *ent_col, const char *label_col);

/* kgbench integer CSVs: triples.int.csv(.gz) ("s, p, o", header optional), nodes.int.csv
   (RFC-4180: index, annotation, label), relations.int.csv (index, label) and the splits
   (node, class; header optional). Classes are 0..max class of training. */
int kg_read_kgbench(KG *g, KgFile triples, KgFile nodes, KgFile relations, KgFile train, KgFile valid,
                    KgFile test);

void kg_free(KG *g);

/* the message-passing edge list: the n_tri forward triples, then their inverses
   (o, p + n_base_rel, s), as three malloc'd arrays of 2 * n_tri. Returns the count, or -1. */
int kg_edges(const KG *g, int **src, int **rel, int **dst);

/* ---- native helpers: read a dataset folder.
   kg_load_rgcn: name is "aifb" or "mutag" (knows their files, label predicates, columns).
   kg_load_kgbench: triples.int.csv.gz or triples.int.csv, nodes, relations, training,
   validation, testing .int.csv. */
int kg_load_rgcn(KG *g, const char *dir, const char *name);
/* what kg_load_rgcn knows of "aifb" and "mutag": the label predicates to drop and the
   TSV columns of entity and class. Returns 0, or -1 (no message) for another name. */
int kg_rgcn_info(const char *name, const char *const **drop, int *n_drop, const char **ent_col,
                 const char **label_col);
int kg_load_kgbench(KG *g, const char *dir);
/* reads a whole file (malloc'd; NULL if it can't be opened or is larger than KG_MAX_BYTES) */
uint8_t *kg_slurp(const char *path, size_t *len);

/* ---- RFC-4180 CSV, exposed for the featuriser and the tests.
   Reads one record starting at *pos: fields are split on ',', a quoted field may hold
   commas, "" and newlines; an unquoted field is trimmed of spaces. Returns the number of
   fields (>= 1), 0 at the end of input, -1 on a malformed record (message names what and
   line). Field i is f[i] with length n[i]; quoted fields are unescaped into *scratch (grown
   as needed, freed by the caller). *line counts lines (1-based, start of the record). */
int kg_csv_record(const uint8_t *buf, size_t len, size_t *pos, int *line, const char *what, int max_fields,
                  const char **f, size_t *n, char **scratch, size_t *scratch_cap);

#endif
