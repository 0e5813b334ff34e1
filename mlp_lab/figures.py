"""Part B's figures: plain matplotlib, one short function each.

(The book's figures, styled alike, are :mod:`mlp_lab.book.plots`.)
"""

from __future__ import annotations

import matplotlib.pyplot as plt


def show_samples(images, labels, class_names, low, high, n=8):
    """The first n images (N, 3, S, S) of each class, a row each; values from
    low to high shown from black to white."""
    fig, axes = plt.subplots(2, n, figsize=(n, 2.2))
    for label, row in enumerate(axes):
        for ax, image in zip(row, images[labels == label][:n]):
            scaled = ((image.double() - low) / (high - low)).clamp(0, 1)
            ax.imshow(scaled.permute(1, 2, 0).numpy())  # (S, S, 3) for imshow
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(class_names[label])
    plt.show()


def plot_losses(curves):
    """Training loss per epoch, one line per {label: losses} of curves."""
    for label, losses in curves.items():
        plt.plot(range(1, len(losses) + 1), losses, label=label)
    plt.xlabel("epoch")
    plt.ylabel("mean training loss")
    plt.legend()
    plt.show()


