"""Part B, step 1, as the course does it: two classes of CIFAR-10 as tensors.

torchvision reads the images (``CIFAR10``, or ``ImageFolder`` for a folder
tree) and PIL resizes them to S x S (antialiased bilinear). The two classes
(c0, c1) become labels (0, 1); the training images are split into train and
validation with ``randperm(n, generator=Generator().manual_seed(seed))``, as
``random_split`` draws it; normalization uses the per-channel mean and
standard deviation of the training split only:

    x' = (x / 255 - mu_c) / sigma_c          for channel c

This is the core that the hand-in notebook shows. :mod:`mlp_lab.data` wraps
it: checked downloads, clear errors, a fingerprint and an on-disk cache.
"""

from __future__ import annotations

import torch
from torchvision import datasets, transforms


def open_datasets(root, size: int, download_dir: str = "data") -> tuple:
    """The training and test sets, each image as (3, size, size) uint8 RGB:
    the ImageFolder trees root/train and root/test when ``root`` is given,
    else the canonical CIFAR-10, downloaded by torchvision into ``download_dir``."""
    transform = transforms.Compose([transforms.Resize((size, size)),
                                    transforms.PILToTensor()])
    if root:
        return (datasets.ImageFolder(f"{root}/train", transform=transform),
                datasets.ImageFolder(f"{root}/test", transform=transform))
    return tuple(datasets.CIFAR10(download_dir, train=train, download=True,
                                  transform=transform) for train in (True, False))


def class_indices(dataset, classes, limit: int = 0) -> list[list[int]]:
    """For each class name, the indices of its images in ``dataset`` (read
    from ``dataset.targets``: nothing is decoded), the first ``limit`` (0: all)."""
    out = []
    for name in classes:
        target = dataset.class_to_idx[name]
        indices = [i for i, t in enumerate(dataset.targets) if t == target]
        out.append(indices[:limit] if limit else indices)
    return out


def two_classes(dataset, classes, limit: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, S, S) uint8 and labels (N,) of the two ``classes``:
    label 0 for classes[0], then label 1 for classes[1]."""
    images, labels = [], []
    for label, indices in enumerate(class_indices(dataset, classes, limit)):
        images += [dataset[i][0] for i in indices]
        labels += [label] * len(indices)
    return torch.stack(images), torch.tensor(labels)


def split_indices(n: int, train_fraction: float,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded train/validation split of range(n): the permutation that
    ``torch.utils.data.random_split`` draws with this seed, whose first
    round(n * train_fraction) indices are the training split."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_train = round(n * train_fraction)
    return perm[:n_train], perm[n_train:]


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation (N - 1) of uint8 images
    (N, 3, S, S) scaled to [0, 1], in float64."""
    x = images.double().div(255).transpose(0, 1).flatten(1)
    return x.mean(dim=1), x.std(dim=1)


def normalize(images: torch.Tensor, mean: torch.Tensor,
              std: torch.Tensor) -> torch.Tensor:
    """(x / 255 - mean_c) / std_c for uint8 images (N, 3, S, S), in float64."""
    x = images.double().div(255)
    return (x - mean[:, None, None]) / std[:, None, None]


def prepare(train_set, test_set, cfg) -> tuple[dict, dict, torch.Tensor, torch.Tensor]:
    """(images, labels, mean, std): the splits "train", "val" and "test" of
    ``cfg.classes`` as uint8 images and 0/1 labels, and the training split's
    per-channel statistics. ``cfg`` gives classes, limit_per_class,
    train_fraction and split_seed."""
    x, y = two_classes(train_set, cfg.classes, cfg.limit_per_class)
    train, val = split_indices(len(y), cfg.train_fraction, cfg.split_seed)
    x_test, y_test = two_classes(test_set, cfg.classes, cfg.limit_per_class)
    images = {"train": x[train], "val": x[val], "test": x_test}
    labels = {"train": y[train], "val": y[val], "test": y_test}
    mean, std = channel_stats(images["train"])
    return images, labels, mean, std


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int) -> list:
    """Mini-batches (x[i:i+B], y[i:i+B]) in a fixed order: those that
    ``torch.utils.data.DataLoader`` gives without shuffling."""
    return list(zip(x.split(batch_size), y.split(batch_size)))
