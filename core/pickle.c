#include "pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ---- the tree: every value the opcodes can make is one node */
enum { P_NONE, P_BOOL, P_INT, P_STR, P_TUPLE, P_LIST, P_DICT, P_GLOBAL, P_OBJ };
static const char *const kind_name[] = {"None", "bool", "int", "string", "tuple", "list",
                                        "dict", "global", "object"};

typedef struct {
    int kind;
    long long ival;         /* P_INT, P_BOOL */
    const uint8_t *s;       /* P_STR: bytes in the input; P_GLOBAL: "module\nname" */
    size_t slen;
    int *kids, nkids, cap;  /* tuple/list items; dict (and defaultdict object) key, value pairs */
    int fn, args, state;    /* P_OBJ: callable, argument tuple, BUILD state (-1 = none) */
} PNode;

#define MEMO_MAX (1 << 20)
#define NODES_MAX (1 << 24)

typedef struct {
    const char *what;
    PNode *nodes;
    int n, cap;
    int *stack, sp, scap;
    int *marks, nm, mcap;
    int *memo, memocap;
    size_t pos; /* offset of the opcode being run, for messages */
} Unpickler;

static int fail_at(Unpickler *u, const char *msg) {
    return nl_fail("%s: %s at byte %zu. Hint: the file is damaged or not a Planetoid pickle; "
                   "copy it again from the dataset's source.", u->what, msg, u->pos);
}

static int grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return -1;
    *p = q, *cap = c;
    return 0;
}

static int new_node(Unpickler *u, int kind) {
    if (u->n >= NODES_MAX || grow((void **)&u->nodes, &u->cap, u->n + 1, sizeof(PNode)) < 0) return -1;
    PNode *p = &u->nodes[u->n];
    memset(p, 0, sizeof *p);
    p->kind = kind, p->fn = p->args = p->state = -1;
    return u->n++;
}

static int push(Unpickler *u, int id) {
    if (id < 0 || grow((void **)&u->stack, &u->scap, u->sp + 1, sizeof(int)) < 0) return -1;
    u->stack[u->sp++] = id;
    return 0;
}

static int add_kid(Unpickler *u, int parent, int kid) {
    PNode *p = &u->nodes[parent];
    if (grow((void **)&p->kids, &p->cap, p->nkids + 1, sizeof(int)) < 0) return -1;
    p->kids[p->nkids++] = kid;
    return 0;
}

static void unpickler_free(Unpickler *u) {
    for (int i = 0; i < u->n; i++) free(u->nodes[i].kids);
    free(u->nodes), free(u->stack), free(u->marks), free(u->memo);
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* the items above the topmost mark become the children of node `into`
   (a new tuple, or an existing list / dict / object) and are popped */
static int pop_to_mark(Unpickler *u, int into, int pairs) {
    if (u->nm == 0) return fail_at(u, "an opcode needs a MARK but none is open");
    int base = u->marks[--u->nm];
    if (pairs && (u->sp - base) % 2) return fail_at(u, "SETITEMS has an odd number of items");
    for (int i = base; i < u->sp; i++)
        if (add_kid(u, into, u->stack[i]) < 0) return nl_fail("%s: out of memory. Hint: free some memory.", u->what);
    u->sp = base;
    return 0;
}

/* runs the opcodes; returns the id of the result node or -1 */
static int unpickle(Unpickler *u, const uint8_t *buf, size_t len) {
    size_t i = 0;
#define NEED(k) do { if (len - i < (size_t)(k)) return fail_at(u, "the file ends inside an opcode (truncated)"); } while (0)
#define POP(v) do { if (u->sp <= (u->nm ? u->marks[u->nm - 1] : 0)) return fail_at(u, "the stack is empty"); (v) = u->stack[--u->sp]; } while (0)
#define PUSH(id) do { if (push(u, (id)) < 0) return nl_fail("%s: out of memory. Hint: free some memory.", u->what); } while (0)
#define NODE(v, kind) do { if (((v) = new_node(u, (kind))) < 0) return nl_fail("%s: out of memory. Hint: free some memory.", u->what); } while (0)
    while (i < len) {
        u->pos = i;
        uint8_t op = buf[i++];
        int a, b, c, id;
        switch (op) {
        case 0x80: /* PROTO */
            NEED(1);
            if (buf[i] > 2) return fail_at(u, "pickle protocol above 2 is not supported");
            i++;
            break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const uint8_t *e1 = memchr(buf + i, '\n', len - i);
            const uint8_t *e2 = e1 ? memchr(e1 + 1, '\n', len - (size_t)(e1 + 1 - buf)) : NULL;
            if (!e2) return fail_at(u, "the file ends inside a GLOBAL name (truncated)");
            NODE(id, P_GLOBAL);
            u->nodes[id].s = buf + i, u->nodes[id].slen = (size_t)(e2 - (buf + i));
            i = (size_t)(e2 + 1 - buf);
            PUSH(id);
            break;
        }
        case 'q': case 'r': { /* BINPUT, LONG_BINPUT */
            size_t k = op == 'q' ? 1 : 4;
            NEED(k);
            uint32_t m = op == 'q' ? buf[i] : le32(buf + i);
            i += k;
            if (u->sp == 0) return fail_at(u, "BINPUT with an empty stack");
            if (m >= MEMO_MAX) return fail_at(u, "a memo index is implausibly large");
            if ((int)m >= u->memocap) {
                int old = u->memocap;
                if (grow((void **)&u->memo, &u->memocap, (int)m + 1, sizeof(int)) < 0)
                    return nl_fail("%s: out of memory. Hint: free some memory.", u->what);
                for (int t = old; t < u->memocap; t++) u->memo[t] = -1;
            }
            u->memo[m] = u->stack[u->sp - 1];
            break;
        }
        case 'h': case 'j': { /* BINGET, LONG_BINGET */
            size_t k = op == 'h' ? 1 : 4;
            NEED(k);
            uint32_t m = op == 'h' ? buf[i] : le32(buf + i);
            i += k;
            if (m >= (uint32_t)u->memocap || u->memo[m] < 0) return fail_at(u, "BINGET of a memo slot that was never set");
            PUSH(u->memo[m]);
            break;
        }
        case '(': /* MARK */
            if (grow((void **)&u->marks, &u->mcap, u->nm + 1, sizeof(int)) < 0)
                return nl_fail("%s: out of memory. Hint: free some memory.", u->what);
            u->marks[u->nm++] = u->sp;
            break;
        case ')': NODE(id, P_TUPLE); PUSH(id); break;
        case ']': NODE(id, P_LIST); PUSH(id); break;
        case '}': NODE(id, P_DICT); PUSH(id); break;
        case 'N': NODE(id, P_NONE); PUSH(id); break;
        case 0x88: case 0x89: NODE(id, P_BOOL); u->nodes[id].ival = op == 0x88; PUSH(id); break;
        case 'K': NEED(1); NODE(id, P_INT); u->nodes[id].ival = buf[i]; i += 1; PUSH(id); break;
        case 'M': NEED(2); NODE(id, P_INT); u->nodes[id].ival = buf[i] | buf[i + 1] << 8; i += 2; PUSH(id); break;
        case 'J': NEED(4); NODE(id, P_INT); u->nodes[id].ival = (int32_t)le32(buf + i); i += 4; PUSH(id); break;
        case 'U': case 'T': { /* SHORT_BINSTRING, BINSTRING */
            size_t k = op == 'U' ? 1 : 4;
            NEED(k);
            uint32_t n = op == 'U' ? buf[i] : le32(buf + i);
            i += k;
            if (n > 0x7fffffffu) return fail_at(u, "a string has a negative length");
            NEED(n);
            NODE(id, P_STR);
            u->nodes[id].s = buf + i, u->nodes[id].slen = n;
            i += n;
            PUSH(id);
            break;
        }
        case 't': NODE(id, P_TUPLE); if (pop_to_mark(u, id, 0) < 0) return -1; PUSH(id); break;
        case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
            int k = op - 0x84, items[3];
            for (int t = k - 1; t >= 0; t--) POP(items[t]);
            NODE(id, P_TUPLE);
            for (int t = 0; t < k; t++)
                if (add_kid(u, id, items[t]) < 0) return nl_fail("%s: out of memory. Hint: free some memory.", u->what);
            PUSH(id);
            break;
        }
        case 'R': case 0x81: /* REDUCE (callable, args), NEWOBJ (class, args) */
            POP(b);
            POP(a);
            if (u->nodes[a].kind != P_GLOBAL || u->nodes[b].kind != P_TUPLE)
                return fail_at(u, "REDUCE or NEWOBJ is not a global applied to a tuple");
            NODE(id, P_OBJ);
            u->nodes[id].fn = a, u->nodes[id].args = b;
            PUSH(id);
            break;
        case 'b': /* BUILD: the state of the object below it */
            POP(b);
            if (u->sp == 0) return fail_at(u, "BUILD with an empty stack");
            a = u->stack[u->sp - 1];
            if (u->nodes[a].kind != P_OBJ || u->nodes[a].state >= 0)
                return fail_at(u, "BUILD of something that is not a fresh object");
            u->nodes[a].state = b;
            break;
        case 's': case 'u': /* SETITEM, SETITEMS: into a dict or a defaultdict object */
            if (op == 's') {
                POP(c);
                POP(b);
                if (u->sp == 0) return fail_at(u, "SETITEM with an empty stack");
                a = u->stack[u->sp - 1];
            } else {
                if (u->nm == 0) return fail_at(u, "SETITEMS needs a MARK but none is open");
                int base = u->marks[u->nm - 1];
                if (base == 0) return fail_at(u, "SETITEMS has no dict below its MARK");
                a = u->stack[base - 1];
            }
            if (u->nodes[a].kind != P_DICT && u->nodes[a].kind != P_OBJ)
                return fail_at(u, "SETITEM(S) into something that is not a dict");
            if (op == 's') {
                if (add_kid(u, a, b) < 0 || add_kid(u, a, c) < 0)
                    return nl_fail("%s: out of memory. Hint: free some memory.", u->what);
            } else if (pop_to_mark(u, a, 1) < 0) {
                return -1;
            }
            break;
        case 'a': /* APPEND */
            POP(b);
            if (u->sp == 0 || u->nodes[u->stack[u->sp - 1]].kind != P_LIST) return fail_at(u, "APPEND to something that is not a list");
            if (add_kid(u, u->stack[u->sp - 1], b) < 0) return nl_fail("%s: out of memory. Hint: free some memory.", u->what);
            break;
        case 'e': { /* APPENDS */
            if (u->nm == 0) return fail_at(u, "APPENDS needs a MARK but none is open");
            int base = u->marks[u->nm - 1];
            if (base == 0 || u->nodes[u->stack[base - 1]].kind != P_LIST) return fail_at(u, "APPENDS to something that is not a list");
            if (pop_to_mark(u, u->stack[base - 1], 0) < 0) return -1;
            break;
        }
        case '.': /* STOP */
            if (u->sp != 1 || u->nm) return fail_at(u, "STOP with other than one value on the stack");
            return u->stack[0];
        default: {
            char msg[96];
            snprintf(msg, sizeof msg, "opcode 0x%02x is not one this reader supports", op);
            return fail_at(u, msg);
        }
        }
    }
    u->pos = len;
    return fail_at(u, "the file ends before STOP (truncated)");
#undef NEED
#undef POP
#undef PUSH
#undef NODE
}

/* ---- checking the tree against the expected objects */

static int is_global(const Unpickler *u, int id, const char *module, const char *name) {
    if (id < 0 || u->nodes[id].kind != P_GLOBAL) return 0;
    size_t ml = strlen(module), nl = strlen(name);
    const PNode *p = &u->nodes[id];
    return p->slen == ml + 1 + nl && !memcmp(p->s, module, ml) && p->s[ml] == '\n' && !memcmp(p->s + ml + 1, name, nl);
}

static int is_str(const Unpickler *u, int id, const char *s) {
    return id >= 0 && u->nodes[id].kind == P_STR && u->nodes[id].slen == strlen(s) && !memcmp(u->nodes[id].s, s, u->nodes[id].slen);
}

static int expect(const Unpickler *u, int ok, const char *what_is_wrong) {
    if (ok) return 0;
    return nl_fail("%s: %s. Hint: the file is damaged or not a Planetoid pickle; copy it again "
                   "from the dataset's source.", u->what, what_is_wrong);
}

static const PNode *kid(const Unpickler *u, int id, int k) {
    return &u->nodes[u->nodes[id].kids[k]];
}

/* a numpy array: shape (ndim <= 2), dtype ('i' int32 / 'f' float32), raw bytes */
typedef struct {
    int ndim, dims[2];
    char type;
    const uint8_t *data;
    size_t n;
} Arr;

static int get_array(const Unpickler *u, int id, const char *name, Arr *out) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s is not a numpy array (numpy.core.multiarray._reconstruct)", name);
    if (expect(u, id >= 0 && u->nodes[id].kind == P_OBJ &&
               is_global(u, u->nodes[id].fn, "numpy.core.multiarray", "_reconstruct"), msg) < 0) return -1;
    int st = u->nodes[id].state;
    snprintf(msg, sizeof msg, "the state of %s is not (version, shape, dtype, fortran, bytes)", name);
    if (expect(u, st >= 0 && u->nodes[st].kind == P_TUPLE && u->nodes[st].nkids == 5 &&
               kid(u, st, 1)->kind == P_TUPLE && kid(u, st, 2)->kind == P_OBJ &&
               kid(u, st, 3)->kind == P_BOOL && kid(u, st, 4)->kind == P_STR, msg) < 0) return -1;
    const PNode *shape = kid(u, st, 1), *fortran = kid(u, st, 3), *bytes = kid(u, st, 4);
    int dt = u->nodes[st].kids[2];
    snprintf(msg, sizeof msg, "%s has %d dimensions (1 or 2 expected)", name, shape->nkids);
    if (expect(u, shape->nkids == 1 || shape->nkids == 2, msg) < 0) return -1;
    snprintf(msg, sizeof msg, "%s is stored in Fortran order", name);
    if (expect(u, !fortran->ival, msg) < 0) return -1;
    /* dtype: numpy.dtype('i4' | 'f4', 0, 1) with state (3, '<', ...) */
    const PNode *d = &u->nodes[dt];
    int dargs = d->args, dstate = d->state;
    snprintf(msg, sizeof msg, "%s has a dtype other than little-endian int32 or float32", name);
    int ok = is_global(u, d->fn, "numpy", "dtype") && dargs >= 0 && u->nodes[dargs].nkids >= 1 &&
             dstate >= 0 && u->nodes[dstate].kind == P_TUPLE && u->nodes[dstate].nkids >= 2 &&
             (is_str(u, u->nodes[dstate].kids[1], "<") || is_str(u, u->nodes[dstate].kids[1], "|"));
    int isi = ok && is_str(u, u->nodes[dargs].kids[0], "i4"), isf = ok && is_str(u, u->nodes[dargs].kids[0], "f4");
    if (expect(u, isi || isf, msg) < 0) return -1;
    out->ndim = shape->nkids, out->type = isi ? 'i' : 'f';
    size_t n = 1;
    for (int k = 0; k < shape->nkids; k++) {
        const PNode *dim = kid(u, u->nodes[st].kids[1], k);
        snprintf(msg, sizeof msg, "%s has a dimension that is not an integer from 0 to 2^31", name);
        if (expect(u, dim->kind == P_INT && dim->ival >= 0 && dim->ival < 0x7fffffff, msg) < 0) return -1;
        out->dims[k] = (int)dim->ival;
        n *= (size_t)dim->ival;
        if (expect(u, n < ((size_t)1 << 31), msg) < 0) return -1;
    }
    if (out->ndim == 1) out->dims[1] = 1;
    snprintf(msg, sizeof msg, "%s holds %zu bytes but its shape needs %zu", name, bytes->slen, n * 4);
    if (expect(u, bytes->slen == n * 4, msg) < 0) return -1;
    out->data = bytes->s, out->n = n;
    return 0;
}

/* the value of key `key` in a dict node (or -1) */
static int dict_get(const Unpickler *u, int dict, const char *key) {
    const PNode *p = &u->nodes[dict];
    for (int k = 0; k + 1 < p->nkids; k += 2)
        if (is_str(u, p->kids[k], key)) return p->kids[k + 1];
    return -1;
}

static int run(Unpickler *u, const uint8_t *buf, size_t len, const char *what) {
    memset(u, 0, sizeof *u);
    u->what = what;
    if (!buf || len == 0) return nl_fail("%s: the file is empty. Hint: copy it again from the dataset's source.", what);
    return unpickle(u, buf, len);
}

int pickle_csr(const uint8_t *buf, size_t len, const char *what, int *rows, int *cols,
               int **indptr, int **indices, float **data) {
    Unpickler u;
    int root = run(&u, buf, len, what), rc = -1;
    int *ip = NULL, *ix = NULL;
    float *dv = NULL;
    if (root < 0) goto done;
    if (expect(&u, u.nodes[root].kind == P_OBJ && is_global(&u, u.nodes[root].fn, "scipy.sparse.csr", "csr_matrix") &&
               u.nodes[root].state >= 0 && u.nodes[u.nodes[root].state].kind == P_DICT,
               "the file is not a scipy.sparse.csr_matrix") < 0) goto done;
    int st = u.nodes[root].state, shape = dict_get(&u, st, "_shape");
    if (expect(&u, shape >= 0 && u.nodes[shape].kind == P_TUPLE && u.nodes[shape].nkids == 2 &&
               kid(&u, shape, 0)->kind == P_INT && kid(&u, shape, 1)->kind == P_INT &&
               kid(&u, shape, 0)->ival >= 0 && kid(&u, shape, 0)->ival < (1 << 30) &&
               kid(&u, shape, 1)->ival >= 0 && kid(&u, shape, 1)->ival < (1 << 30),
               "the matrix has no valid _shape") < 0) goto done;
    if (expect(&u, is_str(&u, dict_get(&u, st, "format"), "csr") || dict_get(&u, st, "format") < 0,
               "the matrix's format is not csr") < 0) goto done;
    Arr p, x, d;
    if (get_array(&u, dict_get(&u, st, "indptr"), "indptr", &p) < 0 ||
        get_array(&u, dict_get(&u, st, "indices"), "indices", &x) < 0 ||
        get_array(&u, dict_get(&u, st, "data"), "data", &d) < 0) goto done;
    int R = (int)kid(&u, shape, 0)->ival, C = (int)kid(&u, shape, 1)->ival;
    if (expect(&u, p.type == 'i' && x.type == 'i' && d.type == 'f' && p.ndim == 1 && x.ndim == 1 && d.ndim == 1,
               "indptr and indices must be int32 vectors and data a float32 vector") < 0) goto done;
    if (expect(&u, p.n == (size_t)R + 1 && x.n == d.n, "indptr, indices and data do not fit the shape") < 0) goto done;
    ip = malloc(sizeof(int) * p.n), ix = malloc(sizeof(int) * (x.n ? x.n : 1)), dv = malloc(sizeof(float) * (d.n ? d.n : 1));
    if (!ip || !ix || !dv) {
        nl_fail("%s: out of memory. Hint: free some memory.", what);
        goto done;
    }
    for (size_t k = 0; k < p.n; k++) ip[k] = (int32_t)le32(p.data + 4 * k);
    for (size_t k = 0; k < x.n; k++) ix[k] = (int32_t)le32(x.data + 4 * k);
    for (size_t k = 0; k < d.n; k++) {
        uint32_t b = le32(d.data + 4 * k);
        memcpy(&dv[k], &b, 4);
    }
    int okp = ip[0] == 0 && ip[R] == (int)x.n;
    for (int r = 0; okp && r < R; r++) okp = ip[r] <= ip[r + 1];
    if (expect(&u, okp, "indptr is not a non-decreasing list from 0 to the entry count") < 0) goto done;
    int oki = 1;
    for (size_t k = 0; oki && k < x.n; k++) oki = ix[k] >= 0 && ix[k] < C;
    if (expect(&u, oki, "a column index lies outside the matrix") < 0) goto done;
    *rows = R, *cols = C, *indptr = ip, *indices = ix, *data = dv;
    ip = ix = NULL, dv = NULL;
    rc = 0;
done:
    free(ip), free(ix), free(dv);
    unpickler_free(&u);
    return rc;
}

int pickle_int_matrix(const uint8_t *buf, size_t len, const char *what, int *rows, int *cols,
                      int **out) {
    Unpickler u;
    int root = run(&u, buf, len, what), rc = -1;
    Arr a;
    if (root >= 0 && get_array(&u, root, "the file", &a) == 0) {
        if (expect(&u, a.type == 'i' && a.ndim == 2, "the array is not a 2-D int32 matrix") == 0) {
            int *v = malloc(sizeof(int) * (a.n ? a.n : 1));
            if (!v) {
                nl_fail("%s: out of memory. Hint: free some memory.", what);
            } else {
                for (size_t k = 0; k < a.n; k++) v[k] = (int32_t)le32(a.data + 4 * k);
                *rows = a.dims[0], *cols = a.dims[1], *out = v;
                rc = 0;
            }
        }
    }
    unpickler_free(&u);
    return rc;
}

int pickle_adjacency(const uint8_t *buf, size_t len, const char *what, int **src, int **dst,
                     long *m, int *nodes) {
    Unpickler u;
    int root = run(&u, buf, len, what), rc = -1;
    int *s = NULL, *d = NULL;
    if (root < 0) goto done;
    const PNode *r = &u.nodes[root];
    if (expect(&u, r->kind == P_DICT || (r->kind == P_OBJ && is_global(&u, r->fn, "collections", "defaultdict")),
               "the file is not a dict of adjacency lists (collections.defaultdict)") < 0) goto done;
    long total = 0;
    for (int k = 0; k + 1 < r->nkids; k += 2) {
        const PNode *key = kid(&u, root, k), *list = kid(&u, root, k + 1);
        char msg[128];
        snprintf(msg, sizeof msg, "entry %d of the adjacency dict is not int: [int, ...] (a %s: a %s)",
                 k / 2, kind_name[key->kind], kind_name[list->kind]);
        if (expect(&u, key->kind == P_INT && list->kind == P_LIST, msg) < 0) goto done;
        total += list->nkids;
    }
    s = malloc(sizeof(int) * (size_t)(total ? total : 1)), d = malloc(sizeof(int) * (size_t)(total ? total : 1));
    if (!s || !d) {
        nl_fail("%s: out of memory. Hint: free some memory.", what);
        goto done;
    }
    long e = 0;
    int maxid = -1;
    for (int k = 0; k + 1 < r->nkids; k += 2) {
        int list = r->kids[k + 1];
        long long key = kid(&u, root, k)->ival;
        if (expect(&u, key >= 0 && key < (1 << 30), "a node id is negative or too large") < 0) goto done;
        if (key > maxid) maxid = (int)key;
        for (int t = 0; t < u.nodes[list].nkids; t++) {
            const PNode *v = kid(&u, list, t);
            if (expect(&u, v->kind == P_INT && v->ival >= 0 && v->ival < (1 << 30),
                       "a neighbour is not a node id from 0 to 2^30") < 0) goto done;
            if (v->ival > maxid) maxid = (int)v->ival;
            s[e] = (int)key, d[e] = (int)v->ival;
            e++;
        }
    }
    *src = s, *dst = d, *m = e, *nodes = maxid + 1;
    s = d = NULL;
    rc = 0;
done:
    free(s), free(d);
    unpickler_free(&u);
    return rc;
}
