"""Part B's figures: plain matplotlib, one short function each.

(The book's figures, styled alike, are :mod:`mlp_lab.book.plots`.)
"""

from __future__ import annotations

import matplotlib.pyplot as plt


def show_samples(images, labels, class_names, n=8):
    """The first n images (uint8, (N, 3, S, S)) of each class, a row each."""
    fig, axes = plt.subplots(2, n, figsize=(n, 2.2))
    for label, row in enumerate(axes):
        for ax, image in zip(row, images[labels == label][:n]):
            ax.imshow(image.permute(1, 2, 0).numpy())  # (S, S, 3) for imshow
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(class_names[label])
    plt.show()


def plot_channel_histograms(x):
    """The distribution of each colour channel's values over images x."""
    for channel, color in enumerate(("red", "green", "blue")):
        plt.hist(x[:, channel].flatten().numpy(), bins=40, histtype="step",
                 color=color, label=color)
    plt.xlabel("normalized value")
    plt.ylabel("pixels")
    plt.legend()
    plt.show()


def plot_losses(curves):
    """Training loss per epoch, one line per {label: losses} of curves."""
    for label, losses in curves.items():
        plt.plot(range(1, len(losses) + 1), losses, label=label)
    plt.xlabel("epoch")
    plt.ylabel("mean training loss")
    plt.legend()
    plt.show()


def plot_confusion(matrix, class_names):
    """The confusion matrix (rows: true class, columns: predicted), with counts."""
    plt.figure(figsize=(3.5, 3.5))
    plt.imshow(matrix, cmap="Blues")
    for i in range(2):
        for j in range(2):
            plt.text(j, i, int(matrix[i, j]), ha="center", va="center",
                     color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    plt.xticks([0, 1], class_names)
    plt.yticks([0, 1], class_names)
    plt.xlabel("predicted")
    plt.ylabel("true")
    plt.show()
