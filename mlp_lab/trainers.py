"""Part B's two trainers, and how a trained model is scored.

train steps a torch.optim.SGD optimizer; train_manual_update
updates each parameter theta with gradient g itself, by the rule that
PyTorch documents for SGD (dampening 0, no Nesterov):

    g     <- g + weight_decay * theta
    b     <- g at the first step, else momentum * b + g;   g <- b
    theta <- theta - lr * g

From the same initial weights and batches, both give the same losses and
weights, bit for bit.
"""

from __future__ import annotations

import torch


def train(n_epochs, optimizer, model, loss_fn, train_loader):
    """Train model with optimizer; return the mean training loss of
    each epoch."""
    losses = []
    for _ in range(n_epochs):
        model.train()
        total = 0.0
        for x, y in train_loader:
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        losses.append(total / len(train_loader))
    return losses


@torch.no_grad()
def sgd_step(params, buffers, lr, momentum, weight_decay):
    """One SGD step of every parameter, in place; buffers holds each
    parameter's momentum buffer (None before the first step)."""
    for i, p in enumerate(params):
        # as torch.optim.SGD writes them (add with alpha): the plain
        # g + weight_decay * p and p - lr * g would round differently
        g = p.grad
        if weight_decay:
            g = g.add(p, alpha=weight_decay)
        if momentum:
            buf = buffers[i]
            buffers[i] = g.clone() if buf is None else momentum * buf + g
            g = buffers[i]
        p.add_(g, alpha=-lr)


def train_manual_update(n_epochs, model, loss_fn, train_loader, lr, momentum=0.0,
                        weight_decay=0.0):
    """Like train, but without an optimizer: after each backward pass,
    sgd_step updates every parameter and the gradients are zeroed."""
    params = list(model.parameters())
    buffers = [None] * len(params)
    losses = []
    for _ in range(n_epochs):
        model.train()
        total = 0.0
        for x, y in train_loader:
            loss = loss_fn(model(x), y)
            loss.backward()
            sgd_step(params, buffers, lr, momentum, weight_decay)
            model.zero_grad()
            total += loss.item()
        losses.append(total / len(train_loader))
    return losses


@torch.no_grad()
def predict(model, loader):
    """The true labels and the predicted ones (the largest logit) over loader."""
    model.eval()
    ys, preds = [], []
    for x, y in loader:
        ys.append(y)
        preds.append(model(x).argmax(dim=1))
    return torch.cat(ys), torch.cat(preds)


def accuracy(model, loader):
    """The fraction of images whose predicted class is the true one."""
    y, pred = predict(model, loader)
    return (y == pred).double().mean().item()


def confusion_matrix(model, loader):
    """Row i, column j: the number of images of class i predicted as class j."""
    y, pred = predict(model, loader)
    matrix = torch.zeros(2, 2, dtype=torch.long)
    for true, predicted in zip(y.tolist(), pred.tolist()):
        matrix[true, predicted] += 1
    return matrix
