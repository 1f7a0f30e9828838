#!/usr/bin/python3
"""make_loss_golden.py: PyTorch references for every loss of core/loss.h.

Writes tests/golden/losses.bin (same format as layers.bin, see README.md):
for every loss and two logit sets ("a": N(0, 2^2), "b": N(0, 15^2), where
p_y reaches 1 - 1e-13 and the focal and normalised terms are near their
limits), the mean loss and the autograd gradient dL/dlogits of the formula
AS WRITTEN in loss.h. The formulas are written here in torch from their
definitions, not copied from the APL code (which detaches the focal factor
and the NFL denominator; nothing is detached here). Autograd runs in float64
so that the reference itself has no float32 rounding; the values are stored
as float32.

Tensor names, per case c = "<loss>/<a|b>":
    c.logits (B, K)   c.labels (B)   c.loss (1)   c.dlogits (B, K)
    c.params = [alpha, beta, q, gamma, cb_beta, margin, pnorm]
    c.counts (K)      class-balanced losses: training count per class
    c.pos, c.neg (B)  triplet: the sampled partner of each anchor (-1 = skipped);
                      the C test passes these to triplet_forward/backward, since
                      the sampling itself uses the core's PCG32

Run (Debian python3-torch 1.13; deterministic, about 1 s):
    /usr/bin/python3 tests/golden/make_loss_golden.py
"""
import math
import os
import struct

import torch
import torch.nn.functional as F

MAGIC = b"NLGOLDEN"
VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
A = -math.log(1e-4)  # RCE: -log of the clipped one-hot zero

torch.set_num_threads(1)
torch.manual_seed(11)


def write(items, path):
    out = bytearray(MAGIC)
    out += struct.pack("<II", VERSION, len(items))
    for name, t in items:
        t = t.detach().to(torch.float32).contiguous()
        nb = name.encode("ascii")
        out += struct.pack("<I", len(nb)) + nb
        out += struct.pack("<I", t.dim())
        out += struct.pack("<%dI" % t.dim(), *t.shape)
        out += struct.pack("<%df" % t.numel(), *t.flatten().tolist())
    with open(path, "wb") as f:
        f.write(out)
    print("wrote %s: %d tensors, %d bytes" % (os.path.relpath(path), len(items), len(out)))


# ---- per-sample terms on log-probabilities lp (B, K) and labels y (B)

def pick(t, y):
    return t.gather(1, y[:, None])[:, 0]


def ce(lp, y, P):
    return -pick(lp, y)


def mae(lp, y, P):
    return 1 - pick(lp, y).exp()


def rce(lp, y, P):
    return A * (1 - pick(lp, y).exp())


def gce(lp, y, P):
    q = P["q"]
    return (1 - pick(lp, y).exp() ** q) / q


def fl(lp, y, P):
    g = P["gamma"]
    lpy = pick(lp, y)
    return -(1 - lpy.exp()) ** g * lpy


def nce(lp, y, P):
    return pick(lp, y) / lp.sum(1)


def nfl(lp, y, P):
    g = P["gamma"]
    f = (1 - lp.exp()) ** g * lp
    return pick(f, y) / f.sum(1)


def ngce(lp, y, P):
    q, K = P["q"], lp.shape[1]
    return (1 - pick(lp, y).exp() ** q) / (K - (lp.exp() ** q).sum(1))


def nmae(lp, y, P):
    K = lp.shape[1]
    return (1 - pick(lp, y).exp()) / (K - 1)


def combo(active, passive):
    return lambda lp, y, P: P["alpha"] * active(lp, y, P) + P["beta"] * passive(lp, y, P)


def cb_weights(counts, beta):
    counts = torch.tensor(counts, dtype=torch.float64)
    w = torch.where(counts > 0, (1 - beta) / (1 - beta ** counts), torch.zeros_like(counts))
    return w / w.sum() * len(counts)


SOFTMAX = {
    "ce": ce, "mae": mae, "rce": rce, "sce": lambda lp, y, P: P["alpha"] * ce(lp, y, P) + P["beta"] * rce(lp, y, P),
    "gce": gce, "fl": fl, "nce": nce, "nfl": nfl, "ngce": ngce, "nmae": nmae,
    "nce+mae": combo(nce, mae), "nce+rce": combo(nce, rce), "nfl+mae": combo(nfl, mae),
    "nfl+rce": combo(nfl, rce), "ngce+mae": combo(ngce, mae), "ngce+rce": combo(ngce, rce),
}

# non-default parameters, so a swapped alpha/beta or a wrong q shows
PARAMS = {"alpha": 0.7, "beta": 2.5, "q": 0.3, "gamma": 0.4, "cb_beta": 0.99, "margin": 0.8, "pnorm": 2.0}
COUNTS = [500, 120, 40, 9, 0]  # K = 5; the last class is absent (weight 0)


def triplet_partners(y, gen):
    """any valid sampling will do: the C test replays these indices"""
    B = len(y)
    pos, neg = [], []
    for i in range(B):
        P = [j for j in range(B) if j != i and y[j] == y[i]]
        N = [j for j in range(B) if y[j] != y[i]]
        if not P or not N:
            pos.append(-1), neg.append(-1)
            continue
        pos.append(P[int(torch.randint(len(P), (1,), generator=gen))])
        neg.append(N[int(torch.randint(len(N), (1,), generator=gen))])
    return pos, neg


def main():
    items = []
    B, K = 7, 5
    gen = torch.Generator().manual_seed(3)
    names = list(SOFTMAX) + ["cb-ce", "cb-focal", "triplet", "cosine-embedding"]
    for name in names:
        for case, scale in (("a", 2.0), ("b", 15.0)):
            c = "%s/%s" % (name, case)
            z32 = (torch.randn(B, K, generator=gen) * scale).to(torch.float32)
            y = torch.randint(K - (1 if name.startswith("cb") else 0), (B,), generator=gen)
            if name == "triplet":
                y = torch.tensor([0, 1, 0, 2, 1, 0, 3])  # class 2 and 3 have no positive
            z = z32.to(torch.float64).requires_grad_(True)
            P = dict(PARAMS)
            params = [P[k] for k in ("alpha", "beta", "q", "gamma", "cb_beta", "margin", "pnorm")]
            if name == "triplet":
                P["pnorm"] = params[6] = 2.0 if case == "a" else 1.5
                pos, neg = triplet_partners(y.tolist(), gen)
                used = [i for i in range(B) if pos[i] >= 0]
                idx = torch.tensor(used)
                L = F.triplet_margin_loss(z[idx], z[torch.tensor([pos[i] for i in used])],
                                          z[torch.tensor([neg[i] for i in used])],
                                          margin=P["margin"], p=P["pnorm"], eps=1e-6)
            elif name == "cosine-embedding":
                L = F.cosine_embedding_loss(z, F.one_hot(y, K).to(torch.float64), torch.ones(B, dtype=torch.float64))
            else:
                lp = F.log_softmax(z, dim=1)
                if name.startswith("cb-"):
                    w = cb_weights(COUNTS, P["cb_beta"])
                    L = (pick(w[None, :].expand(B, K), y) * (ce if name == "cb-ce" else fl)(lp, y, P)).mean()
                else:
                    L = SOFTMAX[name](lp, y, P).mean()
            L.backward()
            assert torch.isfinite(L) and torch.isfinite(z.grad).all(), c
            items.append((c + ".logits", z32))
            items.append((c + ".labels", y.to(torch.float32)))
            items.append((c + ".params", torch.tensor(params)))
            if name.startswith("cb-"):
                items.append((c + ".counts", torch.tensor(COUNTS, dtype=torch.float32)))
            if name == "triplet":
                items.append((c + ".pos", torch.tensor(pos, dtype=torch.float32)))
                items.append((c + ".neg", torch.tensor(neg, dtype=torch.float32)))
            items.append((c + ".loss", L.reshape(1)))
            items.append((c + ".dlogits", z.grad))
    write(items, os.path.join(HERE, "losses.bin"))


if __name__ == "__main__":
    main()
