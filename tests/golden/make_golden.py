#!/usr/bin/python3
"""make_golden.py: PyTorch reference tensors for tests/c/test_golden.c.

Writes tests/golden/layers.bin (every layer: forward output and all gradients)
and tests/golden/cnn_small.bin (a whole training step of a small CNN with SGD
momentum + weight decay). Inputs and parameters are drawn here with a fixed
torch.manual_seed and stored in the files, so the C test needs nothing else.
The file format is described in tests/golden/README.md.

Run from anywhere (uses Debian's python3-torch, 1.13):
    /usr/bin/python3 tests/golden/make_golden.py
The output is deterministic: same bytes on every run (single thread, CPU).
"""
import os
import struct

import torch
import torch.nn.functional as F

MAGIC = b"NLGOLDEN"
VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float32)


class Golden:
    """An ordered list of named float32 tensors, written in one file."""

    def __init__(self):
        self.items = []

    def add(self, name, t):
        if not torch.is_tensor(t):
            t = torch.tensor(t, dtype=torch.float32)
        # clone: parameters, running stats and .grad are updated in place later
        t = t.detach().to(torch.float32).contiguous().clone()
        assert name not in [n for n, _ in self.items], name
        self.items.append((name, t))

    def write(self, path):
        out = bytearray(MAGIC)
        out += struct.pack("<II", VERSION, len(self.items))
        for name, t in self.items:
            nb = name.encode("ascii")
            out += struct.pack("<I", len(nb)) + nb
            out += struct.pack("<I", t.dim())
            out += struct.pack("<%dI" % t.dim(), *t.shape)
            out += struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        with open(path, "wb") as f:
            f.write(out)
        print("wrote %s: %d tensors, %d bytes" % (os.path.relpath(path), len(self.items), len(out)))


def leaf(t):
    return t.clone().requires_grad_(True)


# --------------------------------------------------------------------------
# per-layer references

def add_conv(g, name, B, C, H, W, OC, KH, KW, stride, pad, bias):
    x = leaf(torch.randn(B, C, H, W))
    w = leaf(torch.randn(OC, C, KH, KW) * 0.5)
    b = leaf(torch.randn(OC) * 0.5) if bias else None
    out = F.conv2d(x, w, b, stride=stride, padding=pad)
    dout = torch.randn_like(out)
    out.backward(dout)
    g.add(name + ".config", [B, C, H, W, OC, KH, KW, stride, pad, int(bias)])
    g.add(name + ".x", x)
    g.add(name + ".w", w)
    if bias:
        g.add(name + ".b", b)
    g.add(name + ".dout", dout)
    g.add(name + ".out", out)
    g.add(name + ".dx", x.grad)
    g.add(name + ".dw", w.grad)
    if bias:
        g.add(name + ".db", b.grad)


def add_dense(g, name, B, IN, OUT):
    x = leaf(torch.randn(B, IN))
    w = leaf(torch.randn(OUT, IN) * 0.5)
    b = leaf(torch.randn(OUT) * 0.5)
    out = F.linear(x, w, b)
    dout = torch.randn_like(out)
    out.backward(dout)
    g.add(name + ".config", [B, IN, OUT])
    for k, v in [("x", x), ("w", w), ("b", b), ("dout", dout), ("out", out),
                 ("dx", x.grad), ("dw", w.grad), ("db", b.grad)]:
        g.add(name + "." + k, v)


def add_batchnorm(g, name, shape, momentum=0.1, eps=1e-5):
    """Train step (batch stats, running-stat update, grads), then eval with the
    updated running stats on a fresh input. shape is (B, C) or (B, C, H, W)."""
    B, C = shape[0], shape[1]
    HW = 1
    for d in shape[2:]:
        HW *= d
    bn = torch.nn.BatchNorm1d(C, eps=eps, momentum=momentum) if len(shape) == 2 else \
        torch.nn.BatchNorm2d(C, eps=eps, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(1.0 + 0.3 * torch.randn(C))
        bn.bias.copy_(0.3 * torch.randn(C))
        bn.running_mean.copy_(0.2 * torch.randn(C))
        bn.running_var.copy_(0.5 + torch.rand(C))
    g.add(name + ".config", [B, C, HW, momentum, eps])
    g.add(name + ".gamma", bn.weight)
    g.add(name + ".beta", bn.bias)
    g.add(name + ".running_mean0", bn.running_mean)
    g.add(name + ".running_var0", bn.running_var)
    x = leaf(torch.randn(*shape) * 1.5 + 0.7)
    bn.train()
    out = bn(x)
    dout = torch.randn_like(out)
    out.backward(dout)
    for k, v in [("x", x), ("dout", dout), ("out", out), ("dx", x.grad),
                 ("dgamma", bn.weight.grad), ("dbeta", bn.bias.grad),
                 ("running_mean1", bn.running_mean), ("running_var1", bn.running_var)]:
        g.add(name + "." + k, v)
    bn.eval()
    xe = torch.randn(*shape) * 1.5 + 0.7
    with torch.no_grad():
        g.add(name + ".x_eval", xe)
        g.add(name + ".out_eval", bn(xe))


def add_pool(g, name, kind, B, C, H, W, k, stride, pad):
    x = leaf(torch.randn(B, C, H, W))
    if kind == "max":
        out = F.max_pool2d(x, k, stride, pad)
    else:
        out = F.avg_pool2d(x, k, stride, pad, count_include_pad=True)
    dout = torch.randn_like(out)
    out.backward(dout)
    g.add(name + ".config", [B, C, H, W, k, stride, pad])
    for key, v in [("x", x), ("dout", dout), ("out", out), ("dx", x.grad)]:
        g.add(name + "." + key, v)


def add_global_avgpool(g, name, B, C, H, W):
    x = leaf(torch.randn(B, C, H, W))
    out = F.adaptive_avg_pool2d(x, 1).flatten(1)
    dout = torch.randn_like(out)
    out.backward(dout)
    g.add(name + ".config", [B, C, H * W])
    for key, v in [("x", x), ("dout", dout), ("out", out), ("dx", x.grad)]:
        g.add(name + "." + key, v)


def add_activations(g):
    # a spread of values, including the tails where naive formulas misbehave
    base = torch.cat([torch.randn(48) * 2.0, torch.tensor([-12.0, -6.0, -3.0, -0.5, 0.25, 3.0, 6.0, 12.0])])
    g.add("act.x", base)
    dout = torch.randn_like(base)
    g.add("act.dout", dout)
    fns = {
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": lambda t: F.gelu(t),  # exact (erf) GELU, PyTorch's default
    }
    for name, fn in fns.items():
        x = leaf(base)
        out = fn(x)
        out.backward(dout)
        g.add(name + ".out", out)
        g.add(name + ".dx", x.grad)


def add_softmax_ce(g, B=4, K=6):
    logits = torch.randn(B, K) * 2.0
    logits[1] *= 30.0  # large logits: the stable path matters
    logits = leaf(logits)
    labels = torch.tensor([2, 0, 5, 3])
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    with torch.no_grad():
        g.add("ce.config", [B, K])
        g.add("ce.logits", logits)
        g.add("ce.labels", labels.float())
        g.add("ce.probs", F.softmax(logits, dim=1))
        g.add("ce.losses", F.cross_entropy(logits, labels, reduction="none"))
        g.add("ce.loss", loss.reshape(1))
        g.add("ce.dlogits", logits.grad)


# --------------------------------------------------------------------------
# cnn-small: conv3x3 p1 (3->4) + relu + maxpool2 + flatten + dense 64->10 +
# relu + dense 10->5 + mean cross-entropy, two SGD momentum steps

class CnnSmall(torch.nn.Module):
    """noisylab's model=cnn-small&mult=0.125 on 3x8x8 inputs with 5 classes:
    conv 7x7 pad 3 (32*0.125 = 4 filters), relu, maxpool 2, dense (100*0.125 -> 13), relu, dense."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 7, stride=1, padding=3)
        self.fc1 = torch.nn.Linear(4 * 4 * 4, 13)
        self.fc2 = torch.nn.Linear(13, 5)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv(x)), 2)
        h = F.relu(self.fc1(h.flatten(1)))
        return self.fc2(h)


def make_cnn_small():
    g = Golden()
    lr, momentum, wd = 0.1, 0.9, 5e-4
    model = CnnSmall()  # default PyTorch init, drawn from the seeded generator
    x = torch.randn(2, 3, 8, 8)
    y = torch.tensor([1, 4])
    names = ["conv.weight", "conv.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    params = dict(model.named_parameters())
    assert list(params) == names
    g.add("config", [2, 3, 8, 8, 4, 13, 5])  # B, C, H, W, conv filters, hidden, classes
    g.add("hyper", [lr, momentum, wd])
    g.add("x", x)
    g.add("labels", y.float())
    for n in names:
        g.add("param0." + n, params[n])
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    for step in (1, 2):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        g.add("step%d.logits" % step, logits)
        g.add("step%d.loss" % step, loss.reshape(1))
        for n in names:
            g.add("step%d.grad.%s" % (step, n), params[n].grad)
        opt.step()
        for n in names:
            g.add("step%d.param.%s" % (step, n), params[n])
    return g


def main():
    torch.manual_seed(20240611)
    g = Golden()
    add_conv(g, "conv_a", B=2, C=3, H=6, W=5, OC=4, KH=3, KW=3, stride=1, pad=1, bias=True)
    add_conv(g, "conv_b", B=2, C=2, H=7, W=6, OC=3, KH=3, KW=2, stride=2, pad=1, bias=True)
    add_conv(g, "conv_c", B=1, C=2, H=7, W=7, OC=2, KH=5, KW=5, stride=2, pad=2, bias=False)
    add_conv(g, "conv_d", B=2, C=4, H=3, W=3, OC=3, KH=1, KW=1, stride=1, pad=0, bias=True)
    add_conv(g, "conv_e", B=1, C=3, H=8, W=7, OC=2, KH=3, KW=3, stride=2, pad=0, bias=True)
    add_dense(g, "dense", B=3, IN=7, OUT=4)
    add_batchnorm(g, "bn2d", (4, 3, 3, 3))
    add_batchnorm(g, "bn1d", (6, 5))
    add_pool(g, "maxpool_a", "max", B=2, C=2, H=6, W=6, k=2, stride=2, pad=0)
    add_pool(g, "maxpool_b", "max", B=1, C=2, H=5, W=7, k=3, stride=2, pad=1)
    add_pool(g, "avgpool_a", "avg", B=2, C=2, H=6, W=6, k=2, stride=2, pad=0)
    add_pool(g, "avgpool_b", "avg", B=1, C=2, H=5, W=7, k=3, stride=2, pad=1)
    add_global_avgpool(g, "gap", B=2, C=3, H=4, W=5)
    add_activations(g)
    add_softmax_ce(g)
    g.write(os.path.join(HERE, "layers.bin"))

    torch.manual_seed(7)
    make_cnn_small().write(os.path.join(HERE, "cnn_small.bin"))


if __name__ == "__main__":
    main()
