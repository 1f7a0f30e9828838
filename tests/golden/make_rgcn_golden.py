#!/usr/bin/python3
"""make_rgcn_golden.py: PyTorch reference tensors of the R-GCN layer for tests/c/test_rgcn.c.

Writes tests/golden/rgcn.bin (the format of tests/golden/README.md): a small relational
graph, and for four cases (featureless or dense input, full weights or 3 bases) the
layer's inputs, its output and the gradients of L = sum(out * r) by autograd.

The reference is written from the paper's definition with dense tensors, independently
of core/rgcn.c: per relation a dense adjacency A_r[i, j] = 1 / c_ir for each edge
j -r-> i (c_ir = in-degree of i under r), the self-connection as one more relation
(A = I), out = sum_r A_r X W_r + bias, X = I (featureless) or dense, and with bases
W_r = sum_b comp[r, b] V_b (as torch_geometric's RGCNConv, weight (R, IN, OUT)).
The C layout of V is (IN, B, OUT): the file stores V in that layout ("weight") and
the gradient likewise.

Run from anywhere (Debian's python3-torch, 1.13):
    /usr/bin/python3 tests/golden/make_rgcn_golden.py
The output is deterministic.
"""
import os
import struct

import torch

MAGIC = b"NLGOLDEN"
HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.manual_seed(1703)


def write(path, items):
    out = bytearray(MAGIC) + struct.pack("<II", 1, len(items))
    for name, t in items:
        t = t.detach().to(torch.float32).contiguous()
        nb = name.encode("ascii")
        out += struct.pack("<I", len(nb)) + nb + struct.pack("<I", t.dim())
        out += struct.pack("<%dI" % t.dim(), *t.shape)
        out += struct.pack("<%df" % t.numel(), *t.flatten().tolist())
    with open(path, "wb") as f:
        f.write(out)
    print("wrote %s: %d tensors, %d bytes" % (os.path.relpath(path), len(items), len(out)))


N, NREL, IN, OUT, B = 10, 3, 6, 4, 3
R = NREL + 1  # the self-connection is the last relation
edges = set()
while len(edges) < 28:
    s, r, d = (int(torch.randint(N, ())), int(torch.randint(NREL, ())), int(torch.randint(N, ())))
    edges.add((s, r, d))
edges = sorted(edges)
A = torch.zeros(R, N, N, dtype=torch.float64)
for s, r, d in edges:
    A[r, d, s] = 1
A[NREL] = torch.eye(N, dtype=torch.float64)
deg = A.sum(2, keepdim=True)
A = torch.where(deg > 0, A / deg.clamp(min=1), A)

items = [("edges", torch.tensor(edges, dtype=torch.float32))]
rmat = torch.randn(N, OUT, dtype=torch.float64)
items.append(("r", rmat))
for featureless in (1, 0):
    for bases in (0, B):
        tag = "%s_%s" % ("featureless" if featureless else "dense", "bases" if bases else "full")
        width = N if featureless else IN
        x = torch.eye(N, dtype=torch.float64) if featureless else torch.randn(N, IN, dtype=torch.float64)
        x.requires_grad_(not featureless)
        bias = (0.3 * torch.randn(OUT, dtype=torch.float64)).requires_grad_(True)
        if bases:
            V = (0.5 * torch.randn(bases, width, OUT, dtype=torch.float64)).requires_grad_(True)
            comp = (0.7 * torch.randn(R, bases, dtype=torch.float64)).requires_grad_(True)
            W = torch.einsum("rb,bio->rio", comp, V)
        else:
            W = (0.5 * torch.randn(R, width, OUT, dtype=torch.float64)).requires_grad_(True)
        out = bias + sum(A[r] @ x @ W[r] for r in range(R))
        (out * rmat).sum().backward()
        items.append((tag + ".bias", bias))
        items.append((tag + ".out", out))
        items.append((tag + ".dbias", bias.grad))
        if bases:
            items.append((tag + ".weight", V.permute(1, 0, 2)))  # (IN, B, OUT)
            items.append((tag + ".dweight", V.grad.permute(1, 0, 2)))
            items.append((tag + ".comp", comp))
            items.append((tag + ".dcomp", comp.grad))
        else:
            items.append((tag + ".weight", W))
            items.append((tag + ".dweight", W.grad))
        if not featureless:
            items.append((tag + ".x", x))
            items.append((tag + ".dx", x.grad))

write(os.path.join(HERE, "rgcn.bin"), items)
