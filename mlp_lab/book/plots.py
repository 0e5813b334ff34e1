"""Figures of the report: each function returns a ``matplotlib.figure.Figure``.

Figures are built with ``Figure(...)`` directly, not ``pyplot``: they never
enter pyplot's registry, so nothing needs closing and nothing is shown twice
in a notebook (make the figure the last expression of a cell, or ``display``
it). Every figure uses ``FIGSIZE`` (grids scale its height) and ``STYLE``,
applied with ``matplotlib.rc_context`` so importing this module changes no
global state. Figures carry no title: the book and the report caption every
figure, and a title would repeat the caption. Settings are named "Model 1"..
"Model N" in config order.
Diverged settings (nan/inf or short curves) are drawn up to their last finite
point and marked "diverged".
"""

from __future__ import annotations

import functools
import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..config import model_name, setting_label

FIGSIZE = (7.0, 3.6)  # inches: book text width
# Only parameters read when artists are created: savefig.* would be read at
# save time, outside the context (the book's renderer chooses dpi and format).
STYLE = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9,
         "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "lines.linewidth": 1.5,
         "lines.markersize": 4, "hatch.linewidth": 0.8, "figure.dpi": 110}
TRAINER_LABELS = ("torch.optim.SGD", "manual update")
HATCH = "///"  # marks the manual trainer's bars
LEGEND_ROW = 6  # legend entries "Model 1".. that fit one row of FIGSIZE
MARKERS = "osD^vP*X"  # one per model: coinciding curves stay distinguishable
# behind a value written inside a (possibly hatched) bar, so that it stays legible
LABEL_PT = 7  # the smallest text of any figure: 6.5 pt once scaled to the PDF
LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}


def styled(fn):
    """Run a figure function inside ``rc_context(STYLE)``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)
    return wrapper


def _figure(rows: int = 1, cols: int = 1, height: float = 1.0, **kw):
    """A constrained-layout Figure of ``FIGSIZE`` (height scaled) and its axes."""
    fig = Figure(figsize=(FIGSIZE[0], FIGSIZE[1] * height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kw)


def _finite_points(values) -> tuple[np.ndarray, np.ndarray]:
    """(epochs 1.., values) of a curve with its non-finite points dropped."""
    y = np.asarray(values, dtype=float)
    x = np.arange(1, len(y) + 1)
    keep = np.isfinite(y)
    return x[keep], y[keep]


def _bars(ax, results, series, fmt: str = "{:.1f}", inside: bool = False
          ) -> list[float]:
    """Grouped bars, one group per model, one bar per (label, values, colour,
    hatched) of ``series``; each bar is annotated with its value (above it, or
    ``inside`` its top end), or with "n/a" (and no bar) where the value is not
    finite. Diverged models' tick labels say "diverged", in red. Returns the
    finite values.
    """
    ss, n = results.settings, len(series)
    x, w, shown = np.arange(len(ss)), 0.8 / n, []
    for k, (label, v, color, hatched) in enumerate(series):
        bars = ax.bar(x + (k - (n - 1) / 2) * w, np.nan_to_num(v, posinf=0, neginf=0),
                      w, color=color, hatch=HATCH if hatched else None,
                      edgecolor="white" if hatched else None, label=label)
        for b, vi in zip(bars, v):
            ok = math.isfinite(vi)
            ax.annotate(fmt.format(vi) if ok else "n/a",
                        (b.get_x() + w / 2, vi if ok else 0.5),
                        xytext=(0, -2 if inside and ok else 2),
                        xycoords=("data", "data" if ok else "axes fraction"),
                        textcoords="offset points", ha="center",
                        va="top" if inside and ok else "bottom",
                        fontsize=LABEL_PT, rotation=90,
                        bbox=LABEL_BOX if inside and ok else None)
            shown += [vi] if ok else []
    ax.set(xticks=x, xticklabels=[f"{model_name(i)}\n{setting_label(s, chr(10))}"
                                  + ("\ndiverged" if s.diverged else "")
                                  for i, s in enumerate(ss)])
    for s, tick in zip(ss, ax.get_xticklabels()):
        tick.set_color("C3" if s.diverged else "black")
    return shown


def percent_limits(values, floor: float = 0.0) -> tuple[float, float]:
    """y-limits (%) that zoom to ``values`` but never leave [floor, 100].

    The range spans at least 2 points and leaves room below the lowest value,
    so a bar's height stays visible; accuracy cannot exceed 100 %, so neither
    can the axis.
    """
    lo, hi = (min(values), max(values)) if values else (floor, 100.0)
    pad = max(hi - lo, 2.0)
    return max(floor, lo - 0.6 * pad), min(100.0, hi + 0.25 * pad)


@styled
def sample_grid(samples, class_names) -> Figure:
    """The sample images of each class, one row per class.

    ``samples`` is (2, n, 3, S, S), e.g. ``DataSummary.samples``: uint8 is
    shown as is; float (e.g. normalized) images are rescaled per image to
    [0, 1] by (x - min) / (max - min) over all three channels jointly, which
    keeps the shifts between channels visible.
    """
    imgs = np.asarray(samples)
    raw = imgs.dtype == np.uint8 or np.issubdtype(imgs.dtype, np.integer)
    n_classes, n_per_class = imgs.shape[:2]
    # rows of square images one column wide
    side = FIGSIZE[0] / max(n_per_class, 1)
    fig, axes = _figure(n_classes, max(n_per_class, 1),
                        height=(side * n_classes + 0.1) / FIGSIZE[1])
    for c, row in enumerate(axes):
        for j, ax in enumerate(row):
            ax.set(xticks=[], yticks=[], frame_on=False)
            if j < n_per_class:
                x = imgs[c, j].transpose(1, 2, 0).astype(float)
                x = x / 255 if raw else (x - x.min()) / max(np.ptp(x), 1e-12)
                ax.imshow(x, interpolation="nearest")
        row[0].set_ylabel(class_names[c], rotation=0, ha="right", va="center")
    return fig


def normalized(samples, mean, std) -> np.ndarray:
    """(x / 255 - mean_c) / std_c of uint8 images (..., 3, S, S), per channel c."""
    x = np.asarray(samples, dtype=float) / 255
    return (x - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1))


def normalized_grid(data) -> Figure:
    """The samples of ``sample_grid`` after normalization with the training
    split's statistics (``data`` a ``DataSummary``), rescaled for display."""
    return sample_grid(normalized(data.samples, data.mean, data.std),
                       data.class_names)


@styled
def accuracy_bars(results) -> Figure:
    """Figure 1: train and validation accuracy (%) per model and trainer.

    Solid bars: the torch.optim.SGD model's accuracies; hatched bars: the
    manual update's model's, measured on that model (``*_acc_manual``).
    """
    fig, ((ax,),) = _figure()
    ss, series = results.settings, []
    for k, split in enumerate(("train", "val")):
        sgd = [100 * getattr(s, f"{split}_acc") for s in ss]
        manual = [100 * getattr(s, f"{split}_acc_manual") for s in ss]
        series += [(f"{split}, {TRAINER_LABELS[0]}", sgd, f"C{k}", False),
                   (f"{split}, {TRAINER_LABELS[1]}", manual, f"C{k}", True)]
    ax.set_ylim(*percent_limits(_bars(ax, results, series, inside=True)))
    ax.set(ylabel="accuracy (%)")
    fig.legend(loc="outside lower center", ncols=4, fontsize=7)
    return fig


@styled
def final_loss_bars(results) -> Figure:
    """Figure 2: last-epoch mean training loss per model, both trainers.

    Diverged models get no bar ("n/a") and a red "diverged" tick label.
    """
    fig, ((ax,),) = _figure()
    ss = results.settings

    def last(curve, s):
        return math.nan if s.diverged or not curve else curve[-1]
    series = [
        (TRAINER_LABELS[0], [last(s.train_loss_sgd, s) for s in ss], "C0", False),
        (TRAINER_LABELS[1], [last(s.train_loss_manual, s) for s in ss], "C0", True)]
    _bars(ax, results, series, "{:.4f}")
    ax.set_ylim(0, 1.15 * ax.get_ylim()[1])  # room for the values above the bars
    ax.set(ylabel="training loss (cross-entropy)")
    # below the axes, as in every figure: inside, it would cover bars
    fig.legend(loc="outside lower center", ncols=2)
    return fig


@styled
def loss_curves_grid(results, cols: int = 3) -> Figure:
    """Figure 3: training loss per epoch, one panel per model, trainers overlaid."""
    ss = results.settings
    rows = math.ceil(len(ss) / cols)
    fig, axes = _figure(rows, cols, height=0.7 * rows, sharex=True)
    for ax in axes.flat[len(ss):]:
        ax.set_visible(False)
    for i, (s, ax) in enumerate(zip(ss, axes.flat)):
        ax.plot(*_finite_points(s.train_loss_sgd), "-o", mfc="none", ms=6,
                label=TRAINER_LABELS[0])
        ax.plot(*_finite_points(s.train_loss_manual), "--x", color="C1",
                label=TRAINER_LABELS[1])
        # one line per value: on one line they run into the neighbour's title
        ax.set_title(f"{model_name(i)}: {setting_label(s, chr(10))}", fontsize=8)
        note = "diverged" if s.diverged else f"max |Δ| = {s.max_abs_diff_loss:.2g}"
        ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top",
                fontsize=7.5, color="C3" if s.diverged else "0.3")
        if i + cols >= len(ss):  # lowest panel of its column
            ax.set_xlabel("epoch")
            ax.xaxis.set_tick_params(labelbottom=True)
        if i % cols == 0:
            ax.set_ylabel("training loss")
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=2)
    return fig


def _model_curves(fig, ax, results, attr: str) -> list:
    """One line (own colour and marker) per model of ``getattr(setting, attr)``,
    legend below the axes.

    Returns the finite values of the converged models' curves.
    """
    kept = []
    for i, s in enumerate(results.settings):
        x, y = _finite_points(getattr(s, attr))
        tag = " (diverged)" if s.diverged else ""
        ax.plot(x, y, marker=MARKERS[i % len(MARKERS)], color=f"C{i % 10}",
                linestyle=":" if s.diverged else "-",
                label=f"{model_name(i)}{tag}")
        kept += [] if s.diverged else list(y)
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    # the models are named (their settings are in the results table): one row
    fig.legend(loc="outside lower center", ncols=min(len(ax.lines), LEGEND_ROW))
    return kept


@styled
def all_loss_curves(results, log: bool = False) -> Figure:
    """Figure 4: every model's training loss per epoch (SGD run) in one plot.

    The y-range covers the converged models; diverged curves may leave it.
    """
    fig, ((ax,),) = _figure(height=0.95)
    kept = _model_curves(fig, ax, results, "train_loss_sgd")
    ax.set(ylabel="training loss", yscale="log" if log else "linear")
    if kept and any(s.diverged for s in results.settings):
        ax.set_ylim(min(kept) / 1.05, max(kept) * 1.05)  # losses are > 0
    return fig


def _no_best(fig, ax) -> Figure:
    ax.set_axis_off()
    ax.text(0.5, 0.5, "No model converged:\nno best model to evaluate.",
            ha="center", va="center", fontsize=12, transform=ax.transAxes)
    return fig


@styled
def best_model_accuracies(results) -> Figure:
    """Figure 5: train, validation and test accuracy (%) of the selected model."""
    fig, ((ax,),) = _figure()
    b = results.best
    if b is None:
        return _no_best(fig, ax)
    v = [100 * b.train_acc, 100 * b.val_acc, 100 * b.test_acc]
    bars = ax.bar(["train", "validation", "test"], v, 0.55, color=["C0", "C1", "C2"])
    for bar, vi in zip(bars, v):  # inside the bar's top: the axis ends at 100 %
        ax.annotate(f"{vi:.1f}%", (bar.get_x() + 0.275, vi), xytext=(0, -3),
                    textcoords="offset points", ha="center", va="top",
                    bbox=LABEL_BOX)
    ax.axhline(50, color="0.4", linestyle="--", linewidth=1)
    ax.text(0.5, 50, "chance (50%)", ha="center", va="bottom", fontsize=7.5,
            color="0.3")
    ax.set(ylim=(0, 100), ylabel="accuracy (%)",
           xlabel=f"split ({model_name(b.index)}, the selected model)")
    return fig


@styled
def confusion_matrix_plot(results) -> Figure:
    """Figure 6: test confusion matrix (rows true, columns predicted).

    Cells show counts and row percentages; the colour is the row percentage.
    """
    fig = Figure(figsize=(FIGSIZE[1], FIGSIZE[1] * 0.8), layout="constrained")
    ax = fig.subplots()
    b = results.best
    if b is None:
        return _no_best(fig, ax)
    cm = np.asarray(b.confusion, dtype=float)
    pct = 100 * cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    for (r, c), n in np.ndenumerate(cm):
        ax.text(c, r, f"{int(n)}\n({pct[r, c]:.1f}%)", ha="center", va="center",
                color="white" if pct[r, c] > 60 else "black")
    names = results.data.class_names
    ax.grid(False)
    ax.set(xticks=range(len(names)), yticks=range(len(names)), xticklabels=names,
           yticklabels=names, xlabel="predicted class", ylabel="true class")
    fig.colorbar(im, ax=ax, label="% of true class")
    return fig


def part_b_losses(results) -> None:
    """Part B's own figure of the training losses (``figures.plot_losses``, as
    its task 8 draws it), from the record, at the report's width: the figure
    of the report is the notebook's."""
    import matplotlib.pyplot as plt

    from ..figures import plot_losses

    with plt.rc_context({"figure.figsize": (6.4, 3.4)}):
        plot_losses({f"Model {i + 1}": s.train_loss_sgd
                     for i, s in enumerate(results.settings)})
