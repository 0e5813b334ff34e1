"""The figures of the hand-in notebook of Part B: plain matplotlib, a few lines each.

(The book's figures, styled alike, are :mod:`mlp_lab.book.plots`; these are
the ones a student would write in the notebook itself.)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch


def show_samples(images: torch.Tensor, labels: torch.Tensor, class_names, title: str,
                 n: int = 8) -> None:
    """The first ``n`` images (uint8, (N, 3, S, S)) of each class, one row per
    class."""
    fig, axes = plt.subplots(2, n, figsize=(n, 2.4), squeeze=False)
    for label, row in enumerate(axes):
        for ax, image in zip(row, images[labels == label][:n]):
            x = image.permute(1, 2, 0).double()  # (S, S, 3) for imshow
            x = x / 255
            ax.imshow(x.cpu().numpy())
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(class_names[label])
    fig.suptitle(title)
    plt.show()


def plot_channel_histograms(x: torch.Tensor, title: str) -> None:
    """The distribution of each colour channel's values over the images ``x``
    (N, 3, S, S)."""
    plt.figure(figsize=(7, 3))
    for channel, color in enumerate(("red", "green", "blue")):
        plt.hist(x[:, channel].flatten().cpu().numpy(), bins=32, histtype="step",
                 color=color, label=color)
    plt.xlabel("value")
    plt.ylabel("number of pixels")
    plt.title(title)
    plt.legend()
    plt.show()


def plot_losses(losses: list, labels: list, title: str) -> None:
    """The mean training loss of each epoch, one curve per training."""
    plt.figure(figsize=(8, 4))
    for loss, label in zip(losses, labels):
        plt.plot(range(1, len(loss) + 1), loss, label=label)
    plt.xlabel("epoch")
    plt.ylabel("mean training loss")
    plt.title(title)
    plt.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    plt.show()


def plot_accuracies(train_acc: list, val_acc: list, labels: list, title: str) -> None:
    """Training and validation accuracy of each setting, side by side."""
    x = torch.arange(len(labels))
    plt.figure(figsize=(7, 4))
    for shift, acc, label in ((-0.2, train_acc, "training"),
                              (0.2, val_acc, "validation")):
        bars = plt.bar(x + shift, acc, width=0.4, label=label)
        plt.bar_label(bars, fmt="%.3f", fontsize="x-small")
    plt.xticks(x, labels)
    plt.ylim(0, 1.08)  # from zero: the bars' heights compare truly; room for values
    plt.ylabel("accuracy")
    plt.title(title)
    plt.legend(loc="upper left", bbox_to_anchor=(1, 1))
    plt.show()


def plot_confusion(matrix: torch.Tensor, class_names) -> None:
    """The confusion matrix (rows: true class, columns: predicted), with counts."""
    plt.figure(figsize=(3.5, 3.5))
    plt.imshow(matrix, cmap="Blues")
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            dark = matrix[i, j] > matrix.max() / 2
            plt.text(j, i, int(matrix[i, j]), ha="center", va="center",
                     color="white" if dark else "black")
    plt.xticks(range(len(class_names)), class_names)
    plt.yticks(range(len(class_names)), class_names)
    plt.xlabel("predicted")
    plt.ylabel("true")
    plt.show()
