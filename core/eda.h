/* eda.h: exploratory statistics of a graph, the same for the CLI (`noisylab eda`) and the page.

   Two sources, one set of numbers: a knowledge graph (kg.h: N-Triples, kgbench, a bundle) or
   a Planetoid citation graph (planetoid.h). Definitions:
   - edges: a KG's triples (distinct (s, p, o), direction kept); a Planetoid graph's distinct
     undirected pairs {u, v}, u != v, of its adjacency lists. self_loops counts the edges with
     u = v (kept among a KG's triples; left out of a Planetoid graph's edges).
   - relations: a KG's predicates (inverses not counted), with the count of triples of each;
     `relations_used` have at least one. A Planetoid graph has one relation, "cites".
   - node kinds (KG): IRI, blank node, literal. Literal modalities: ft_modality of the
     datatype (featurise.h: text, number, date, wkt, image).
   - degree: the number of edge ends at a node (in + out; a self loop counts 2). The
     histogram has log2 bins: bin 0 holds degree 0, bin b >= 1 holds 2^(b-1) .. 2^b - 1.
   - labels: the count of each class in each split (training, validation, test); nodes
     without a label are `unlabelled`.
   - components: weakly connected (direction ignored), by union-find over the edges:
     count, size of the largest, singletons (isolated nodes), labelled nodes in the largest.
   - edge homophily: over the distinct unordered pairs {u, v}, u != v, joined by at least one
     edge, where both u and v are labelled (any split): the fraction whose labels agree.
     `labelled_pairs` is their number; with none (common in KGs, where labelled entities
     rarely touch) the value is null ("n/a").
   - 2-hop homophily: over the paths u - v - w with u != w both labelled and v any node
     (v's distinct neighbours; the edge direction ignored): the fraction whose ends agree.
     A pair that shares m neighbours counts m times; this is what makes it linear to compute
     (per middle node: sum over classes of c(c-1)/2 out of L(L-1)/2). A hub shared by many
     labelled nodes (a type or a class node) pulls it toward `label_agreement_by_chance`,
     the agreement of two distinct labelled nodes drawn at random: sum_k n_k (n_k - 1) /
     (L (L - 1)).
   Everything is linear in nodes + edges (a sort of the labelled pairs aside), so it runs on
   a dmg777k-size graph (777k triples, 341k nodes) in a fraction of a second. */
#ifndef NL_EDA_H
#define NL_EDA_H

#include "featurise.h"
#include "kg.h"
#include "planetoid.h"

#define EDA_TOP 20
#define EDA_BINS 33 /* degrees are ints, below 2^31: bins 0..32 */

typedef struct {
    int is_kg;
    int n_nodes;
    long n_edges, self_loops;
    int n_rel, rel_used;
    int top_n, top_rel[EDA_TOP];
    long top_count[EDA_TOP];
    const char *const *rel_names; /* borrowed from the source (NULL: "cites") */
    int kinds[3];                 /* KG_IRI, KG_BLANK, KG_LITERAL */
    int modality[FT_N];           /* literals per modality (FT_NONE unused) */
    int features;                 /* Planetoid: feature width; KG: 0 */
    long deg_hist[EDA_BINS];
    int deg_bins, deg_min, deg_max, deg_median, isolated;
    double deg_mean;
    int n_classes;
    const char *const *class_names; /* borrowed (NULL: "0", "1", ...) */
    int *label_counts;              /* 4 x n_classes: [split][class]; split KG_NONE unused */
    int unlabelled, labelled;
    int components, largest, singletons, labelled_in_largest;
    long labelled_pairs, same_pairs;
    double paths2, same_paths2, chance;
} Eda;

int eda_kg(const KG *g, Eda *e);
int eda_planetoid(const Planetoid *p, Eda *e);
void eda_free(Eda *e);
/* the statistics as one JSON object (malloc'd); name: the dataset's name, for the reader */
char *eda_json(const Eda *e, const char *name);

#endif
