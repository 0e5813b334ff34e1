"""The course's notebook pipeline, written as its template does it: bench's baseline.

Everything the notebook does, the notebook's way, on the data and settings of
a :class:`~mlp_lab.config.Config`:

1. ``torch.set_default_dtype(torch.double)`` for the whole run;
2. per image at load time, on PIL images from ``ImageFolder(ROOT/train)``
   (or ``CIFAR10``), kept to the two classes with labels remapped to 0, 1:
   ``Compose([Resize((S, S)), ToTensor()])`` once to get the per-channel mean
   and std of the training split, then ``Compose([Resize((S, S)), ToTensor(),
   Normalize(mean, std)])`` for the data itself: a list of (image, label)
   tuples, ``random_split`` 90/10 with the seeded generator;
3. ``DataLoader(batch_size=B, shuffle=False)`` (collates every batch, every
   epoch), per-batch ``.to(device, dtype=torch.double)``;
4. per setting: ``train`` (``torch.optim.SGD``) and ``train_manual_update``
   (hand-written SGD), each with per-batch ``loss.item()``, then train and
   validation accuracy; the best setting's test accuracy.

It shares no computation with mlp_lab (only the config and the data path), so
``bench`` can time mlp_lab against it on the same work.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, random_split
from torchvision import datasets, transforms

from ..cache import PROJECT_ROOT
from ..config import Config
from ..models import default_dtype
from ..sources import data_root


class CourseMLP(nn.Module):
    """The course's MyMLP: Linear layers of ``sizes``, ReLU between them."""

    def __init__(self, sizes):
        super().__init__()
        self.flat = nn.Flatten()
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        x = self.flat(x)
        for fc in self.fcs[:-1]:
            x = F.relu(fc(x))
        return self.fcs[-1](x)


def load_split(cfg: Config, train: bool, transform) -> list[tuple[torch.Tensor, int]]:
    """(transformed image, label in {0, 1}) of the two classes, in file order."""
    root = data_root(cfg)
    if root is None:
        ds = datasets.CIFAR10(str(PROJECT_ROOT / "data"), train=train, download=True,
                              transform=transform)
    else:
        ds = datasets.ImageFolder(str(root / ("train" if train else "test")),
                                  transform=transform)
    out = []
    for label, cls in enumerate(cfg.classes):
        idx = [i for i, t in enumerate(ds.targets) if t == ds.class_to_idx[cls]]
        out += [(ds[i][0], label) for i in idx[:cfg.limit_per_class or None]]
    return out


def _split(cfg: Config, images: list):
    n_train = round(len(images) * cfg.train_fraction)
    return random_split(images, [n_train, len(images) - n_train],
                        generator=torch.Generator().manual_seed(cfg.split_seed))


def load_loaders(cfg: Config) -> dict[str, DataLoader]:
    """Train, val and test loaders, normalized with the training split's stats."""
    size = (cfg.image_size, cfg.image_size)
    raw_train, _ = _split(cfg, load_split(cfg, True, transforms.Compose(
        [transforms.Resize(size), transforms.ToTensor()])))
    x = torch.stack([img for img, _ in raw_train]).transpose(0, 1).flatten(1)
    preprocessor = transforms.Compose([
        transforms.Resize(size), transforms.ToTensor(),
        transforms.Normalize(x.mean(dim=1).tolist(), x.std(dim=1).tolist())])
    train, val = _split(cfg, load_split(cfg, True, preprocessor))
    test = load_split(cfg, False, preprocessor)
    return {name: DataLoader(ds, batch_size=cfg.batch_size, shuffle=False)
            for name, ds in (("train", train), ("val", val), ("test", test))}


def train(n_epochs, optimizer, model, loss_fn, train_loader, device):
    """The template's training loop with an optimizer; mean loss per epoch."""
    n_batch = len(train_loader)
    losses_train = []
    model.train()
    optimizer.zero_grad(set_to_none=True)
    for epoch in range(1, n_epochs + 1):
        loss_train = 0.0
        for imgs, labels in train_loader:
            imgs = imgs.to(device=device, dtype=torch.double)
            labels = labels.to(device=device)
            outputs = model(imgs)
            loss = loss_fn(outputs, labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss_train += loss.item()
        losses_train.append(loss_train / n_batch)
    return losses_train


def train_manual_update(n_epochs, model, loss_fn, train_loader, device, lr,
                        momentum=0.0, weight_decay=0.0):
    """The same loop, updating each parameter by hand as ``optim.SGD`` does."""
    n_batch = len(train_loader)
    losses_train = []
    buffers = [None] * len(list(model.parameters()))
    model.train()
    for epoch in range(1, n_epochs + 1):
        loss_train = 0.0
        for imgs, labels in train_loader:
            imgs = imgs.to(device=device, dtype=torch.double)
            labels = labels.to(device=device)
            outputs = model(imgs)
            loss = loss_fn(outputs, labels)
            loss.backward()
            with torch.no_grad():
                for i, p in enumerate(model.parameters()):
                    grad = p.grad
                    if weight_decay != 0:
                        grad = grad.add(p, alpha=weight_decay)
                    if momentum != 0:
                        if buffers[i] is None:
                            buffers[i] = torch.clone(grad).detach()
                        else:
                            buffers[i].mul_(momentum).add_(grad, alpha=1)
                        grad = buffers[i]
                    p.add_(grad, alpha=-lr)
            model.zero_grad()
            loss_train += loss.item()
        losses_train.append(loss_train / n_batch)
    return losses_train


def compute_accuracy(model, loader, device) -> float:
    """The template's accuracy: argmax of the outputs against the labels."""
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for imgs, labels in loader:
            imgs = imgs.to(device=device, dtype=torch.double)
            labels = labels.to(device=device)
            _, predicted = torch.max(model(imgs), dim=1)
            total += labels.shape[0]
            correct += int((predicted == labels).sum())
    return correct / total


def run_reference(cfg: Config, device: str | torch.device = "cpu") -> dict:
    """Load, train every setting with both loops, evaluate; with a time breakdown.

    Returns ``settings`` (per setting: ``losses_sgd``, ``losses_manual``,
    ``train_acc``, ``val_acc``), ``test_acc`` of the best setting, and the
    seconds spent in ``data``, ``train`` (both loops) and ``eval``.
    """
    seconds = {"data": 0.0, "train": 0.0, "eval": 0.0}
    with default_dtype(torch.double):
        t0 = time.perf_counter()
        loaders = load_loaders(cfg)
        seconds["data"] = time.perf_counter() - t0
        loss_fn = nn.CrossEntropyLoss()
        settings, models = [], []
        for s in cfg.settings:
            t0 = time.perf_counter()
            torch.manual_seed(cfg.seed)
            model = CourseMLP(cfg.sizes).to(device)
            optimizer = optim.SGD(model.parameters(), lr=s.lr, momentum=s.momentum,
                                  weight_decay=s.weight_decay)
            losses_sgd = train(cfg.epochs, optimizer, model, loss_fn,
                               loaders["train"], device)
            torch.manual_seed(cfg.seed)
            manual = CourseMLP(cfg.sizes).to(device)
            losses_manual = train_manual_update(
                cfg.epochs, manual, loss_fn, loaders["train"], device, s.lr,
                s.momentum, s.weight_decay)
            t1 = time.perf_counter()
            settings.append({
                "losses_sgd": losses_sgd, "losses_manual": losses_manual,
                "train_acc": compute_accuracy(model, loaders["train"], device),
                "val_acc": compute_accuracy(model, loaders["val"], device)})
            models.append(model)
            seconds["train"] += t1 - t0
            seconds["eval"] += time.perf_counter() - t1
        t0 = time.perf_counter()
        best = max(range(len(settings)), key=lambda i: (settings[i]["val_acc"], -i))
        test_acc = compute_accuracy(models[best], loaders["test"], device)
        seconds["eval"] += time.perf_counter() - t0
    return {"settings": settings, "best": best, "test_acc": test_acc,
            "seconds": seconds}
