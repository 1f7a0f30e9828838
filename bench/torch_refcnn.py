"""Training throughput of the benchmark's reference CNN in PyTorch, 1 thread.

The peer measurement of `npm run bench`: the same network, batch and optimizer as
noisylab's model=refcnn (conv3x3 32 - relu - maxpool - conv3x3 64 - relu - maxpool
- fc128 - relu - fc10, input 3x32x32, batch 64, SGD momentum 0.9). Prints one JSON
line: {"img_per_s": ..., "torch": version}. Run with Debian's python3-torch:
    /usr/bin/python3 bench/torch_refcnn.py
"""
import json
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(0)
net = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
loss_fn = nn.CrossEntropyLoss()
x = torch.randn(64, 3, 32, 32)
y = torch.randint(0, 10, (64,))


def step():
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
t0 = time.perf_counter()
while time.perf_counter() - t0 < 1.0:  # warm-up
    step()
rates = []
for _ in range(5):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 5:
        step()
        n += 1
    rates.append(n * 64 / (time.perf_counter() - t0))
rates.sort()
print(json.dumps({"img_per_s": rates[len(rates) // 2], "torch": torch.__version__}))
