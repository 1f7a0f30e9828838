/* pickle.h: a reader for the few Python pickles graph datasets come in.

   The Planetoid files (kimiyoung/planetoid, tkipf/gcn: ind.<name>.{x,tx,allx,
   y,ty,ally,graph}) are Python 2 pickles, protocol 2, of three kinds of object:
     - scipy.sparse.csr_matrix (x, tx, allx): an object built by NEWOBJ whose
       state dict holds _shape and numpy arrays indptr, indices (int32) and
       data (float32);
     - numpy.ndarray (y, ty, ally): numpy.core.multiarray._reconstruct, then a
       BUILD with (version, shape, dtype, fortran, raw bytes), the dtype itself
       an object numpy.dtype('i4' | 'f4') with state (3, '<', ...);
     - collections.defaultdict(list) (graph): {node: [neighbours]}.
   No code is ever run and nothing is imported: the reader interprets exactly
   these opcodes (PROTO <= 2, GLOBAL, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET,
   MARK, EMPTY_TUPLE/LIST/DICT, TUPLE, TUPLE1-3, SHORT_BINSTRING, BINSTRING,
   BININT, BININT1, BININT2, NONE, NEWTRUE, NEWFALSE, REDUCE, NEWOBJ, BUILD,
   SETITEM, SETITEMS, APPEND, APPENDS, STOP) into a small tree, then checks that
   the tree is the expected object, naming the first thing that is not. Any
   other opcode, a truncated file, a bad length, a dangling memo reference or
   a stack underflow is refused with a message naming `what`, the byte offset
   and a hint. Array payloads are little-endian and decoded byte by byte, so
   the result does not depend on the host's byte order.

   Memory: the out-pointers receive malloc'd arrays; the caller frees them.
   On failure nothing is allocated. The reader is fuzzed (tests/fuzz/fuzz_pickle.c). */
#ifndef NL_PICKLE_H
#define NL_PICKLE_H

#include <stddef.h>
#include <stdint.h>

/* a scipy CSR matrix of float32 values: rows x cols, indptr (rows + 1),
   indices and data (nnz each); indices are checked to lie in [0, cols) */
int pickle_csr(const uint8_t *buf, size_t len, const char *what, int *rows, int *cols,
               int **indptr, int **indices, float **data);
/* a 2-D numpy int32 array (rows x cols, row-major) */
int pickle_int_matrix(const uint8_t *buf, size_t len, const char *what, int *rows, int *cols,
                      int **out);
/* a dict {int: [int, ...]} (a defaultdict(list) or a plain dict): the m
   entries as (src, dst) pairs in file order; nodes = 1 + the largest id seen
   (keys and values), 0 when empty */
int pickle_adjacency(const uint8_t *buf, size_t len, const char *what, int **src, int **dst,
                     long *m, int *nodes);

#endif
