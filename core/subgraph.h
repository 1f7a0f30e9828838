/* subgraph.h: a k-hop subgraph of a knowledge graph around its labelled nodes.

   kg_subgraph(g, hops, max_nodes, seed, ...) picks at most max_nodes nodes of g, in stages:
     0. every labelled node (label >= 0: training, validation and test). All of them, always:
        if max_nodes is smaller than their number, it fails (a subgraph without some of the
        labelled nodes would silently change the task).
     1..hops. hop h: the nodes not yet taken that share a triple, in either direction, with
        a node taken in stage h-1. If they all fit under max_nodes they are all taken;
        otherwise a uniform random subset of exactly the room left is (seeded, see below),
        and no later hop is expanded. Only the nodes taken in a hop are expanded by the next.
     fill. If room is left after the hops, uniform random nodes of the whole graph (among
        those not taken) fill it up to max_nodes. This is our reading of the "filled
        with random nodes from the seed": random nodes drawn from the seeded generator, not
        nodes reached from the seed nodes (the hops already take those). It keeps the
        subgraph's size fixed, which makes runs on different graphs comparable. A fill node
        often has no triple inside the subgraph (it is then isolated there).
   Randomness: one PCG32 stream, rng_init(seed, STREAM_SUBGRAPH), drawn in the order above;
   candidates are sorted by original id before sampling, so the same graph, hops, max_nodes
   and seed give the same subgraph, bit for bit, on every platform.

   The result is a KG of its own (kg.h), with every invariant of one:
   - nodes renumbered densely in ascending original id (so the map is monotonic, the
     triples stay sorted by (p, s, o), and a subgraph that takes every node is g itself);
     orig[new] = original id; stage[new] = 0 labelled, h for hop h, -1 fill;
   - triples: those of g with both ends taken (relation ids unchanged);
   - relations, datatypes and classes: the full tables of g (ids unchanged, some may go unused);
   - texts, kinds, datatypes, labels and splits carried over.
   Memory is linear in the graph (an adjacency of 2 x triples ints and a few arrays of nodes);
   time is linear plus a sort of each hop's candidates.

   Fails (-1, err.h) on: hops < 0, max_nodes < 1, an empty graph, a graph without labelled
   nodes, max_nodes smaller than the labelled set, a subgraph without any triple, out of
   memory. On failure *out is empty (kg_free is safe) and nothing is allocated. */
#ifndef NL_SUBGRAPH_H
#define NL_SUBGRAPH_H

#include "kg.h"

#include <stdint.h>

typedef struct {
    int hops, max_nodes;
    uint64_t seed;
    int n_labelled; /* stage 0 */
    int n_hops;     /* taken by hops 1..hops */
    int n_fill;     /* random fill */
    int last_hop;   /* the last hop that took a node (0: none) */
    int capped_hop; /* the hop that was sampled because it did not fit (0: none) */
} SubReport;

int kg_subgraph(const KG *g, int hops, int max_nodes, uint64_t seed, KG *out, int **orig, int **stage,
                SubReport *rep);

#endif
