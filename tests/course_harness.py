"""A stand-in for the course's ``tests_backpropagation.py``, with both modes,
and a small MNIST served on 127.0.0.1 for its MNIST mode (tests only; the
hand-in never packs either).

The course hands out ``tests_backpropagation.py`` with
``main_test(backprop_fn, model, verbose=False, data='toy')``. In the ``toy``
mode it checks 10 random inputs with targets of shape (1, 2) for 5 epochs; in
the ``mnist`` mode it loads the MNIST test set with torchvision into
``../data/`` (``CenterCrop(24)``, ``ToTensor()``, ``Normalize(0.1306, 0.3080)``)
and checks the first 5 images, each target ``torch.Tensor([[label]])`` of
shape (1, 1) against an output of shape (1, 10), with the loss
``nn.MSELoss(reduction="none")``, which broadcasts the target. Each prints
four verdicts and "4 / 4: ALL TEST PASSED" when all hold.

The stand-in does the same. Its one difference: it points torchvision's
``MNIST`` at the mirror and MD5 sums it is written with (:func:`standin`), as
``tests/test_download.py`` points ``CIFAR10`` at a served archive.
"""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np

STANDIN = '''
import torch
from torch import nn
from torchvision import datasets, transforms

MIRROR = {mirror!r}  # the test's server (the stand-in's one difference)
RESOURCES = {resources!r}


def samples(data):
    if data == "toy":  # 10 random inputs, targets (1, 2), 5 epochs
        pairs = [(torch.randn(1, 2), torch.rand(1, 2)) for _ in range(10)]
        return pairs * 5
    datasets.MNIST.mirrors, datasets.MNIST.resources = [MIRROR], RESOURCES
    mnist = datasets.MNIST("../data/", train=False, download=True,
                           transform=transforms.Compose([
                               transforms.CenterCrop(24), transforms.ToTensor(),
                               transforms.Normalize(0.1306, 0.3080)]))
    return [(mnist[i][0], torch.Tensor([[mnist[i][1]]])) for i in range(5)]


def rel(a, b):
    return ((a - b).abs().max() / (a.abs().max() + b.abs().max() + 1e-30)).item()


def main_test(backprop_fn, model, verbose=False, data="toy"):
    ok = [True] * 4
    for x, y in samples(data):
        model.zero_grad()
        y_pred = model(x)
        loss = nn.MSELoss(reduction="none")(y_pred, y).sum()
        loss.backward()
        backprop_fn(model, y, y_pred)
        fc = [model.fc[str(l)] for l in range(1, model.L + 1)]
        ok[0] &= all(rel(m.weight.grad, model.dL_dw[l]) < 1e-3
                     and rel(m.bias.grad, model.dL_db[l]) < 1e-3
                     for l, m in enumerate(fc, 1))
        with torch.no_grad():  # one centered difference per layer, entry (0, 0)
            for l, m in enumerate(fc, 1):
                w, h = m.weight, 1e-6
                w[0, 0] += h
                plus = nn.MSELoss(reduction="none")(model(x), y).sum().item()
                w[0, 0] -= 2 * h
                minus = nn.MSELoss(reduction="none")(model(x), y).sum().item()
                w[0, 0] += h
                fd = (plus - minus) / (2 * h)
                ok[1] &= abs(fd - model.dL_dw[l][0, 0].item()) <= 1e-4 * (
                    1 + abs(fd))
        before = [m.weight.detach().clone() for m in fc]
        torch.optim.SGD(model.parameters(), lr=0.1).step()
        ok[2] &= all(not torch.equal(b, m.weight) for b, m in zip(before, fc))
        ok[3] &= all(p.is_leaf and p.requires_grad for p in model.parameters())
    for name, good in zip(("autograd", "finite differences", "weights updated",
                           "graph intact"), ok):
        print(f"{{name}}: {{'passed' if good else 'FAILED'}}")
    print(f"{{sum(ok)}} / 4: " + ("ALL TEST PASSED" if all(ok) else
                                 "SOME TESTS FAILED"))
'''


def _idx(magic: int, array: np.ndarray) -> bytes:
    """An IDX file (MNIST's format): magic, the dimensions, then the bytes."""
    head = struct.pack(">I", magic) + b"".join(struct.pack(">I", d)
                                               for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def mnist_files(n: int = 10, seed: int = 0) -> dict[str, bytes]:
    """MNIST's four gzipped IDX files, as torchvision downloads them, each
    with ``n`` random 28 x 28 digits and labels 0..9."""
    rng = np.random.default_rng(seed)
    files = {}
    for split in ("train", "t10k"):
        images = rng.integers(0, 256, (n, 28, 28))
        labels = np.arange(n) % 10
        files[f"{split}-images-idx3-ubyte.gz"] = gzip.compress(_idx(0x803, images))
        files[f"{split}-labels-idx1-ubyte.gz"] = gzip.compress(_idx(0x801, labels))
    return files


def standin(mirror: str, files: dict[str, bytes]) -> str:
    """The stand-in's source, downloading ``files`` (name -> bytes, with their
    MD5 sums) from ``mirror`` (a URL ending in /)."""
    resources = [(name, hashlib.md5(data).hexdigest()) for name, data in files.items()]
    return STANDIN.format(mirror=mirror, resources=resources)
