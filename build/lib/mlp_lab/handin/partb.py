"""Part B, ``gradient_descent.ipynb``: data, MLP, two trainers, selection, test.

Cells in the assignment's order; every computation is the library's own code
(data preparation, ``MyMLP``, ``train``, ``train_manual_update``, the setting
loop, selection, test), run under the same thread count, seeds, dtype, split
and batch order, so the executed notebook's numbers are the results record's.
"""

from __future__ import annotations

import dataclasses

import nbformat

from ..config import Config
from . import prose
from .cells import IMPORTS, code, glue, md, notebook, title
from .pull import Library

SETTINGS = """
torch.set_num_threads(THREADS)  # the record's thread count: same last bits
torch.set_default_dtype(getattr(torch, cfg.dtype))
for i, s in enumerate(cfg.settings):
    print(f"{model_name(i)}: {setting_label(s)}")
print(f"{cfg.epochs} epochs, batch size {cfg.batch_size}, seed {cfg.seed} before "
      f"each model is created, {cfg.dtype}, layers {cfg.sizes}")"""

CIFAR_DIR = '''
def cifar_dir() -> Path:
    """Where torchvision downloads CIFAR-10: data/ beside this notebook."""
    return Path("data").resolve()'''

LOAD = """
with pinned():  # one intra-op thread: the statistics do not depend on cores
    entry = _build(cfg, data_root(cfg))
data = PreparedData(entry["images"], entry["labels"], entry["mean"], entry["std"],
                    tuple(cfg.class_names), entry["provenance"])
p = data.provenance
if p["source"] == "imagefolder":
    # the folder's name only: a handed-in notebook shows no machine's layout
    print(f"Data source: the ImageFolder tree \N{HORIZONTAL ELLIPSIS}/"
          f"{Path(p['location']).name} (MLP_LAB_DATA), "
          f"{p['n_files']} image files, fingerprint {p['fingerprint']}")
else:
    print(f"Data source: the canonical CIFAR-10, downloaded by torchvision "
          f"from {p['location']}, fingerprint {p['fingerprint']}")
for split, n in data.counts().items():
    per_class = ", ".join(f"{k} {c}" for k, c in zip(n, data.class_names))
    print(f"{split:>5}: {sum(n)} images ({per_class})")"""

NORMALIZE = """
mean, std = data.normalized_moments("train")
print("training split, per channel: mean", [round(v, 4) for v in data.mean.tolist()],
      "std", [round(v, 4) for v in data.std.tolist()])
print("after normalization: mean", [round(v, 4) + 0.0 for v in mean],
      "std", [round(v, 4) for v in std])
summary = SimpleNamespace(samples=data.samples(SAMPLES_PER_CLASS).numpy(),
                          mean=data.mean.tolist(), std=data.std.tolist(),
                          class_names=list(data.class_names))
normalized_grid(summary)"""

TRAIN = """
@contextmanager
def print_losses(desc, total):
    \"\"\"Progress of one training: its loss every 10th and the last epoch.\"\"\"
    def hook(epoch, loss):
        if (epoch + 1) % 10 == 0 or epoch + 1 == total:
            print(f"{desc}  epoch {epoch + 1:3d}/{total}  loss {loss:.5f}")
    yield hook


outcomes = [train_setting(cfg, s, data, print_losses) for s in cfg.settings]
settings = [r for r, _ in outcomes]"""

COMPARE = """
for i, s in enumerate(settings):
    print(f"{model_name(i)}: max |loss SGD - loss manual| = {s.max_abs_diff_loss:.3g}, "
          f"max |weights SGD - weights manual| = {s.max_abs_diff_params:.3g}, "
          f"identical: {s.identical}, train acc {s.train_acc:.4f}, "
          f"val acc {s.val_acc:.4f}")"""

SELECT = """
best = select_best(settings)
best_eval = None if best is None else evaluate_best(
    cfg, best, outcomes[best][1], settings[best], data)
if best_eval is None:
    print("Every setting diverged: no model to test.")
else:
    print(f"Selected: {model_name(best)} ({setting_label(settings[best])}), "
          f"validation accuracy {best_eval.val_acc:.4f}")
    print(f"Test accuracy {best_eval.test_acc:.4f}; confusion matrix "
          f"(rows true, columns predicted; {', '.join(cfg.class_names)}): "
          f"{best_eval.confusion}")
R = SimpleNamespace(settings=settings, best=best_eval,
                    data=SimpleNamespace(class_names=list(cfg.class_names)),
                    losses_identical=all(s.max_abs_diff_loss == 0 for s in settings))"""

# The numbers the report shows, at full precision (repr), for comparison.
FINAL = """
final = {"final_loss_sgd": [s.train_loss_sgd[-1] for s in settings],
         "final_loss_manual": [s.train_loss_manual[-1] for s in settings],
         "train_acc": [s.train_acc for s in settings],
         "val_acc": [s.val_acc for s in settings],
         "best": best,
         "test_acc": None if best_eval is None else best_eval.test_acc,
         "confusion": None if best_eval is None else best_eval.confusion}
final"""

FIGURES = (("results-training", "fig-accuracy", "accuracy_bars"),
           ("results-training", "fig-final-loss", "final_loss_bars"),
           ("results-training", "fig-loss-grid", "loss_curves_grid"),
           ("results-training", "fig-all-losses", "all_loss_curves"),
           ("results-selection", "fig-best", "best_model_accuracies"),
           ("results-selection", "fig-confusion", "confusion_matrix_plot"))


def config_cell(cfg: Config) -> nbformat.NotebookNode:
    """This edition's fields, one per line, as the library's config holds them."""
    def value(k: str) -> str:
        if k != "settings":
            return repr(getattr(cfg, k))
        return "(\n" + "".join(f"        {s!r},\n" for s in cfg.settings) + "    )"
    fields = "".join(f"    {f.name}={value(f.name)},\n"
                     for f in dataclasses.fields(cfg))
    return glue(f"cfg = SimpleNamespace(\n{fields})\n" + SETTINGS)


def _figures() -> list[nbformat.NotebookNode]:
    out = []
    for n, (partial, label, fn) in enumerate(FIGURES, 1):
        out += [glue(f"{fn}(R)"),
                md(f"**Figure {n}.** {prose.caption(partial, label)}")]
    return out


def cells(cfg: Config, names: list[str], ns: dict,
          lib: Library) -> list[nbformat.NotebookNode]:
    """The cells of Part B for ``cfg``, by ``names``."""
    def text(partial: str, heading: str | None = None):
        return md(prose.markdown(prose.section(partial, heading), ns))
    edition = (f"{' vs '.join(cfg.class_names)} at {cfg.image_size}x"
               f"{cfg.image_size} pixels, layers {'-'.join(map(str, cfg.sizes))}")
    lib.need("import torch", "from pathlib import Path",
             "from types import SimpleNamespace",
             "from contextlib import contextmanager")
    return [
        title("Part B: gradient descent", names, f"CIFAR-10, {edition}."),
        md("## Threads, seeds and dtype"),
        code(lib, "threads.pinned", "config.Setting", "config.model_name",
             "config.setting_label", before=IMPORTS),
        config_cell(cfg),
        md("## Data"), text("approach", "Data"),
        code(lib, "sources.data_root", "sources.folder_listing", before=CIFAR_DIR),
        code(lib, "images.read_images"),
        code(lib, "data._build", "data.PreparedData"),
        glue(LOAD),
        code(lib, "book.plots.sample_grid", "book.plots.normalized_grid",
             "experiments.SAMPLES_PER_CLASS"),
        glue("sample_grid(data.samples(SAMPLES_PER_CLASS).numpy(), data.class_names)"),
        glue(NORMALIZE),
        md("## Model"), text("approach", "Model"),
        code(lib, "models.MyMLP", "models.make_model"),
        md("## Two trainers"), text("approach", "Two trainers, one result"),
        code(lib, "trainers.train"),
        text("update-rule"),
        code(lib, "trainers.sgd_optimizer", "trainers.train_manual_update"),
        code(lib, "trainers.accuracy", "trainers.confusion_matrix"),
        md("## Training every setting with both trainers"),
        code(lib, "training.train_setting"),
        glue(TRAIN), glue(COMPARE),
        md("## Model selection and test"), text("approach", "Model selection"),
        code(lib, "experiments.select_best", "experiments.evaluate_best"),
        glue(SELECT),
        code(lib, *(f"book.plots.{fn}" for _, _, fn in FIGURES)),
        *_figures(),
        md("## The final numbers, at full precision"),
        glue(FINAL),
    ]


def build(cfg: Config, names: list[str], ns: dict) -> nbformat.NotebookNode:
    lib = Library(provided=frozenset({"cifar_dir"}))  # CIFAR_DIR: by the notebook
    return notebook(cells(cfg, names, ns, lib), lib)
