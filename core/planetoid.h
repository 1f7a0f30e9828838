/* planetoid.h: the Planetoid citation graphs (Cora, Citeseer) from their original files.

   The eight files ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index} of
   kimiyoung/planetoid (the ones tkipf/gcn ships) are read from memory: the
   pickles through pickle.h, test.index as text. The graph is assembled exactly
   as load_data() in tkipf/gcn gcn/utils.py does:
     - nodes 0 .. len(allx)-1 take the rows of allx / ally;
     - the test ids lie in [min, max] of test.index; the k-th row of tx / ty
       goes to node test.index[k]. Ids of that range that test.index does not
       list (Citeseer has 15: isolated test nodes missing from the source)
       get a zero feature row and a zero label row, i.e. label -1 here;
     - features are row-normalised (each row divided by its sum; a zero row stays zero);
     - labels are the argmax of the one-hot rows; a zero row is -1 (unlabelled);
     - public split: train = nodes 0 .. len(y)-1 (140 for Cora, 120 for Citeseer),
       val = the next 500, test = the ids of test.index in ascending order.
       Unlabelled nodes (-1) are left out of all three.
   Edges are the (key, neighbour) pairs of the adjacency dict in file order;
   graph.h turns them into one canonical CSR, so the order does not matter.

   Checked, with a message naming the file and a hint: every pickle's type and
   shape, features of the same width everywhere, one-hot rows (a single 1),
   labels of the same width everywhere, test ids that are integers, unique and
   exactly follow the allx rows, graph node ids inside the node range. */
#ifndef NL_PLANETOID_H
#define NL_PLANETOID_H

#include <stddef.h>
#include <stdint.h>

/* the file parts, in this order, as named after "ind.<name>." */
enum { PL_X, PL_Y, PL_TX, PL_TY, PL_ALLX, PL_ALLY, PL_GRAPH, PL_TEST_INDEX, PL_FILES };
extern const char *const planetoid_parts[PL_FILES];

typedef struct {
    int n, F, K;        /* nodes, features, classes */
    float *x;           /* n x F, row-normalised, dense */
    int *label;         /* n, -1 = unlabelled */
    int *src, *dst;     /* m edges as listed in the graph file */
    long m;
    int *train, *val, *test; /* node ids of the public split */
    int ntrain, nval, ntest;
} Planetoid;

/* files[p] / lens[p]: the bytes of part p (all eight are needed); name, e.g.
   "cora", goes into messages. Returns 0, or -1 with an error. */
int planetoid_load(Planetoid *g, const char *name, const uint8_t *const files[PL_FILES],
                   const size_t lens[PL_FILES]);
void planetoid_free(Planetoid *g);

#endif
