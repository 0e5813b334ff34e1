"""Part B, task 1: two classes of CIFAR-10 as tensors, split and normalized.

The two classes become labels 0 and 1; the training images are split into
training and validation by a seeded permutation; each colour channel c is
normalized with the mean and standard deviation of the training split only:

    x' = (x / 255 - mean_c) / std_c
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset


def class_indices(dataset, name):
    """The indices of the images of class name in dataset."""
    target = dataset.class_to_idx[name]
    return [i for i, t in enumerate(dataset.targets) if t == target]


def two_classes(dataset, classes):
    """The images (N, 3, S, S, uint8) and labels (N,) of the two classes:
    label 0 for the first, 1 for the second."""
    images, labels = [], []
    for label, name in enumerate(classes):
        indices = class_indices(dataset, name)
        images += [dataset[i][0] for i in indices]
        labels += [label] * len(indices)
    return torch.stack(images), torch.tensor(labels)


def split_indices(n, train_fraction, seed):
    """A seeded random permutation of range(n), cut in two: the training
    indices (the first round(n * train_fraction)) and the validation ones."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_train = round(n * train_fraction)
    return perm[:n_train], perm[n_train:]


def channel_stats(images):
    """Per-channel mean and standard deviation of uint8 images scaled to [0, 1]."""
    x = images.double().div(255).transpose(0, 1).flatten(1)
    return x.mean(dim=1), x.std(dim=1)


def normalize(images, mean, std):
    """(x / 255 - mean_c) / std_c for each channel c of uint8 images."""
    x = images.double().div(255)
    return (x - mean[:, None, None]) / std[:, None, None]


def prepare(train_set, test_set, classes, train_fraction, seed):
    """The splits "train", "val" and "test" of the two classes: their
    images and labels, and the training split's channel statistics."""
    x, y = two_classes(train_set, classes)
    train, val = split_indices(len(y), train_fraction, seed)
    x_test, y_test = two_classes(test_set, classes)
    images = {"train": x[train], "val": x[val], "test": x_test}
    labels = {"train": y[train], "val": y[val], "test": y_test}
    mean, std = channel_stats(images["train"])
    return images, labels, mean, std


def batches(x, y, batch_size):
    """The mini-batches of (x, y) in order, as a DataLoader without shuffling
    gives them, kept in a list."""
    return list(DataLoader(TensorDataset(x, y), batch_size=batch_size))
