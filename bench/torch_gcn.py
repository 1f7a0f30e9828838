"""Cora GCN, 200 epochs, in plain PyTorch at 1 thread: the peer of noisylab's graph bench.

The same model and protocol as `dataset=cora&model=gcn&opt=adam&lr=0.01&wd=5e-4
&dropout=0.5&hidden=16&epochs=200` (Kipf & Welling): two GCN layers over the sparse
D^-1/2 (A+I) D^-1/2, dropout 0.5 on the input of both, Adam, weight decay on the first
layer, full batch. The Planetoid files are read as tkipf/gcn's load_data() does (needs
Debian's python3-scipy to unpickle the sparse matrices). Timed: the 200 training epochs
plus the test evaluation, as noisylab's wall time is, for a sparse and a dense adjacency.
Prints one JSON line; its "seconds" is the faster of the two.
    /usr/bin/python3 bench/torch_gcn.py ../shared/datasets/cora [repeats]
"""
import json
import pickle
import sys
import time

import numpy as np
import scipy.sparse as sp
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)  # scipy.sparse.csr in the old pickles
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)
d = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def load(part):
    with open(f"{d}/ind.cora.{part}", "rb") as f:
        return pickle.load(f, encoding="latin1")


x, y, tx, ty, allx, ally, graph = (load(p) for p in ["x", "y", "tx", "ty", "allx", "ally", "graph"])
test_idx = [int(l) for l in open(f"{d}/ind.cora.test.index")]
order = np.sort(test_idx)
feats = sp.vstack((allx, tx)).tolil()
feats[test_idx, :] = feats[order, :]
labels = np.vstack((ally, ty))
labels[test_idx, :] = labels[order, :]
n = feats.shape[0]
rows = [i for i, nb in graph.items() for j in nb]
cols = [j for i, nb in graph.items() for j in nb]
adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
adj = ((adj + adj.T) > 0).astype(np.float32) + sp.eye(n, dtype=np.float32)
adj = (adj > 0).astype(np.float32)
dinv = sp.diags(np.power(np.asarray(adj.sum(1)).flatten(), -0.5))
a = (dinv @ adj @ dinv).tocoo()
A = torch.sparse_coo_tensor(np.vstack((a.row, a.col)), a.data.astype(np.float32), (n, n)).coalesce()
feats = sp.csr_matrix(feats)
rs = np.asarray(feats.sum(1)).flatten()
rs[rs == 0] = 1
X = torch.tensor((sp.diags(1 / rs) @ feats).toarray(), dtype=torch.float32)
Y = torch.tensor(labels.argmax(1))
train, test = torch.arange(140), torch.tensor(order[:1000] if len(order) >= 1000 else order)


def run(prop):
    w1 = torch.nn.Parameter(torch.empty(X.shape[1], 16))
    w2 = torch.nn.Parameter(torch.empty(16, int(Y.max()) + 1))
    b1, b2 = torch.nn.Parameter(torch.zeros(16)), torch.nn.Parameter(torch.zeros(w2.shape[1]))
    torch.nn.init.xavier_uniform_(w1)
    torch.nn.init.xavier_uniform_(w2)
    opt = torch.optim.Adam([{"params": [w1], "weight_decay": 5e-4}, {"params": [b1, w2, b2]}], lr=0.01)

    def forward(training):
        h = prop(F.dropout(X, 0.5, training) @ w1) + b1
        return prop(F.dropout(F.relu(h), 0.5, training) @ w2) + b2

    t0 = time.perf_counter()
    for _ in range(200):
        opt.zero_grad()
        F.cross_entropy(forward(True)[train], Y[train]).backward()
        opt.step()
    with torch.no_grad():
        acc = (forward(False)[test].argmax(1) == Y[test]).float().mean().item()
    return time.perf_counter() - t0, acc


# both ways PyTorch users write it: torch.sparse.mm on the COO adjacency, and a dense
# 2708 x 2708 adjacency through BLAS; the faster is the peer's figure
Ad = A.to_dense()
out = {"torch": torch.__version__}
for name, prop in [("sparse", lambda m: torch.sparse.mm(A, m)), ("dense", lambda m: Ad @ m)]:
    times = sorted(run(prop) for _ in range(repeats))
    out[name] = {"seconds": times[len(times) // 2][0], "test_acc": times[len(times) // 2][1]}
best = min(("sparse", "dense"), key=lambda k: out[k]["seconds"])
out.update(seconds=out[best]["seconds"], test_acc=out[best]["test_acc"], fastest=best)
print(json.dumps(out))
