"""Part B, ``gradient_descent.ipynb``: one section per task of the assignment.

Every computation is the library's own core (data, ``MyMLP``, ``train``,
``train_manual_update``, ``train_model``, accuracy, ``select_best``), pulled
from its source, with short glue cells that call it and print or plot. The
notebook runs on one thread, in the config's dtype, with the same seeds,
split and batch order as the library, so its numbers are the results
record's to the last bit (``tests/test_handin.py`` compares them).
"""

from __future__ import annotations

import nbformat

from ..book.effects import effects
from ..book.noise import standard_error
from ..config import Config, model_name, setting_label
from ..results import Results
from .cells import IMPORTS, code, glue, md, notebook, title
from .pull import Library

SETUP = """
torch.set_default_dtype(torch.{dtype})  # both trainers in {dtype}
torch.set_num_threads(1)  # float sums in one fixed order: the same numbers each run
device = default_device()
cfg = SimpleNamespace(
{fields})
settings = [
{settings}]"""

DATA = """
root = data_root(cfg)
print("Data:", f"the ImageFolder tree {{Path(root).name}} (MLP_LAB_DATA)" if root
      else "CIFAR-10, downloaded by torchvision into data/")
train_set, test_set = open_datasets(root, cfg.image_size)
images, labels, mean, std = prepare(train_set, test_set, cfg)
for split in ("train", "val", "test"):
    counts = torch.bincount(labels[split], minlength=2).tolist()
    print(f"{{split:>5}}: {{len(labels[split])}} images,", ", ".join(
        f"{{n}} {{name}}" for n, name in zip(counts, cfg.class_names)))
show_samples(images["train"], labels["train"], cfg.class_names,
             "Training images, resized to {size}x{size}")"""

NORMALIZE = """
print("Training split, per channel: mean", mean.numpy().round(4),
      "std", std.numpy().round(4))
normalized = {split: normalize(images[split], mean, std) for split in images}
print("After normalization, training split: mean",  # + 0.0 prints -0.0 as 0.0
      normalized["train"].mean(dim=(0, 2, 3)).numpy().round(4) + 0.0,
      "std", normalized["train"].std(dim=(0, 2, 3)).numpy().round(4))
plot_channel_histograms(normalized["train"],
                        "Training split after normalization, per channel")
loaders = {split: batches(normalized[split].flatten(1).to(device),
                          labels[split].to(device), cfg.batch_size)
           for split in normalized}"""

MODEL = """print(MyMLP(cfg.sizes))"""

TRAIN_ALL = """
def train_both(setting: Setting) -> SimpleNamespace:
    \"\"\"``setting`` trained by ``train`` (sgd) and by ``train_manual_update``
    (manual) from the same initial weights; the SGD model's accuracies, whether
    a loss diverged, and the largest difference between the final weights.\"\"\"
    sgd, manual = SimpleNamespace(), SimpleNamespace()
    for trainer, run in (("sgd", sgd), ("manual", manual)):
        torch.manual_seed(cfg.seed)  # before each model is created
        run.model = MyMLP(cfg.sizes).to(device)
        run.losses = train_model(cfg, setting, trainer, run.model, loaders["train"])
    return SimpleNamespace(
        setting=setting, sgd=sgd, manual=manual,
        train_acc=accuracy(sgd.model, loaders["train"]),
        val_acc=accuracy(sgd.model, loaders["val"]),
        diverged=not all(map(math.isfinite, sgd.losses + manual.losses)),
        weight_diff=max_abs_diff(list(sgd.model.parameters()),
                                 list(manual.model.parameters())))


trained = {}  # setting index -> its trainings: each setting is trained once


def run_of(i: int) -> SimpleNamespace:
    \"\"\"Model i + 1's trainings, trained the first time a task needs them.\"\"\"
    if i not in trained:
        print(f"Training Model {i + 1} ({settings[i]}) with both trainers.")
        trained[i] = train_both(settings[i])
    return trained[i]


def compare(qualifies, what):
    \"\"\"The first setting that ``qualifies``: its per-epoch losses of both
    trainers side by side, then whether they are identical.\"\"\"
    i = next((i for i, s in enumerate(settings) if qualifies(s)), None)
    if i is None:
        print(f"None of the configured settings has {what}: nothing to compare.")
        return
    run = run_of(i)
    print(f"Model {i + 1} ({run.setting}), {what}")
    print("epoch  train (torch.optim.SGD)  train_manual_update")
    for epoch, (a, b) in enumerate(zip(run.sgd.losses, run.manual.losses), 1):
        print(f"{epoch:5d}  {a:23.15f}  {b:19.15f}")
    loss_diff = max_abs_diff(run.sgd.losses, run.manual.losses)
    verdict = "identical" if loss_diff == run.weight_diff == 0 else "NOT identical"
    print(f"Verdict: {verdict}; the largest difference is {loss_diff:.3g} between "
          f"the losses and {run.weight_diff:.3g} between the final weights.")


compare(lambda s: s.momentum == 0 and s.weight_decay == 0, "plain SGD")"""

WEIGHT_DECAY = """
compare(lambda s: s.momentum == 0 and s.weight_decay != 0, "weight decay alone")"""

MOMENTUM = """
compare(lambda s: s.momentum != 0 and s.weight_decay == 0, "momentum alone")"""

TABLE = """
runs = [run_of(i) for i in range(len(settings))]  # those not trained yet train now
print("model      lr  momentum  weight decay  final loss  train acc  val acc"
      "  |SGD - manual|")
for i, run in enumerate(runs):
    s = run.setting
    print(f"{i + 1:5d}  {s.lr:6g}  {s.momentum:8g}  {s.weight_decay:12g}  "
          f"{run.sgd.losses[-1]:10.5f}  {run.train_acc:9.4f}  {run.val_acc:7.4f}  "
          f"{run.weight_diff:14.3g}")
names = [f"Model {i + 1}" for i in range(len(runs))]
plot_losses([r.sgd.losses for r in runs],
            [f"{n}: {r.setting}" for n, r in zip(names, runs)],
            "Training loss per epoch, torch.optim.SGD")
plot_accuracies([r.train_acc for r in runs], [r.val_acc for r in runs], names,
                "Accuracy of each model trained with torch.optim.SGD")"""

SELECT = """
best = select_best(runs)
if best is None:
    print("Every setting diverged: there is no model to select.")
else:
    others = sorted(((r.val_acc, i) for i, r in enumerate(runs)
                     if i != best and not r.diverged), reverse=True)
    print(f"Selected: Model {best + 1} ({runs[best].setting}): the highest "
          f"validation accuracy, {runs[best].val_acc:.4f}, of the settings that "
          "did not diverge.")
    if others:
        print(f"Next: Model {others[0][1] + 1}, {others[0][0]:.4f}.")"""

TEST = """
if best is not None:
    model = runs[best].sgd.model
    test_acc = accuracy(model, loaders["test"])
    confusion = confusion_matrix(model, loaders["test"])
    print(f"Model {best + 1} on the test split: accuracy {test_acc:.4f} "
          f"(validation {runs[best].val_acc:.4f})")
    print("Confusion matrix (rows: true class, columns: predicted;",
          ", ".join(cfg.class_names) + "):\\n", confusion.numpy())
    plot_confusion(confusion, cfg.class_names)"""

# The numbers of tasks 8 to 10 unrounded (repr): the report rounds them.
FINAL = """
{"final_loss_sgd": [r.sgd.losses[-1] for r in runs],
 "final_loss_manual": [r.manual.losses[-1] for r in runs],
 "train_acc": [r.train_acc for r in runs],
 "val_acc": [r.val_acc for r in runs],
 "best": best,
 "test_acc": None if best is None else test_acc,
 "confusion": None if best is None else confusion.tolist()}"""


CONFIG_COMMENTS = {"split_seed": "  # draws the training/validation split",
                   "limit_per_class": "  # 0: every image of each class",
                   "data_dir": "  # '': torchvision's CIFAR-10, or $MLP_LAB_DATA",
                   "seed": "  # the initial weights of every model"}


def config_cell(cfg: Config) -> str:
    """The setup cell: dtype, threads, device, the config's fields that the
    notebook uses, and its settings."""
    keys = ("classes", "class_names", "image_size", "train_fraction", "split_seed",
            "limit_per_class", "data_dir", "sizes", "epochs", "batch_size", "seed")
    fields = "".join(f"    {k}={getattr(cfg, k)!r},{CONFIG_COMMENTS.get(k, '')}\n"
                     for k in keys)
    rows = "".join(f"    Setting(lr={s.lr!r}, momentum={s.momentum!r}, "
                   f"weight_decay={s.weight_decay!r}),\n" for s in cfg.settings)
    return SETUP.format(dtype=cfg.dtype, fields=fields, settings=rows)


def data_origin(record: Results) -> str:
    """Which images this run read: the canonical CIFAR-10 or a local copy."""
    d = record.data
    if d.source != "imagefolder":
        return "This run read the canonical CIFAR-10 files."
    lossy = [t for t in d.file_types if t.lower() in (".jpg", ".jpeg")]
    return (f"This run read a local ImageFolder copy ({d.n_files:,} files)"
            + (", JPEG re-encoded: its pixels differ slightly from the canonical "
               "files', and so may every number below." if lossy else "."))


def analysis(cfg: Config, record: Results) -> str:
    """Task 10's short written analysis, from the results record (whose
    numbers the notebook reproduces)."""
    best = record.best
    if best is None:
        return "Every setting diverged, so no model was tested."
    (tn, fp), (fn, tp) = best.confusion
    a, b = cfg.class_names
    gap = best.test_acc - best.val_acc
    near = abs(gap) <= 2 * standard_error(best.val_acc, record.data.n_val)
    return (
        f"{model_name(best.index)} ({setting_label(record.settings[best.index])}) "
        f"reaches {best.test_acc:.4f} on the {tn + fp + fn + tp} test images, "
        f"{abs(gap):.4f} {'above' if gap >= 0 else 'below'} its validation "
        f"accuracy of {best.val_acc:.4f}: "
        + ("within twice the standard error of the validation accuracy, so the "
           "accuracy that selected it was not an optimistic estimate" if near else
           "more than twice the standard error of the validation accuracy apart")
        + f". It calls {fp} of the "
        f"{tn + fp} {a} images {b} and {fn} of the {fn + tp} {b} images {a}"
        f"{' (the errors are balanced)' if abs(fp - fn) <= 0.1 * max(fp, fn) else ''}"
        f". Its training accuracy is {best.train_acc:.4f}, "
        f"{best.train_acc - best.test_acc:.4f} above the test accuracy: the "
        "generalization gap.")


def factor_effects(record: Results) -> str:
    """Task 8's reading of its table: the change in validation accuracy
    between each pair of settings that differ in one factor alone."""
    said = []
    for factor, name in (("lr", "The learning rate"), ("momentum", "Momentum"),
                         ("weight_decay", "Weight decay")):
        found = effects(record, factor)
        if found:
            said.append(f"{name}: " + ", ".join(
                f"{100 * d:+.1f} points from {model_name(i)} to {model_name(j)}"
                for i, j, d in found) + ".")
    if not said:
        return ("No two settings differ in one factor alone, so the table cannot "
                "single out the effect of any one factor.")
    accs = [s.val_acc for s in record.settings if not s.diverged]
    se = standard_error(sum(accs) / len(accs), record.data.n_val)
    return ("**Each factor alone.** The change in validation accuracy between "
            "settings that differ in that factor only. " + " ".join(said)
            + f" On {record.data.n_val:,} validation images an accuracy near "
            f"{sum(accs) / len(accs):.2f} has a standard error of about "
            f"{100 * se:.1f} points, so a change smaller than about twice that "
            "may be chance.")


def cells(cfg: Config, names: list[str], record: Results,
          lib: Library) -> list[nbformat.NotebookNode]:
    """The cells of Part B for ``cfg``, by ``names``."""
    a, b = cfg.class_names
    size, n = cfg.image_size, len(cfg.settings)
    classes = " and ".join(
        f"{name} (label {label}{'' if name == c else f', CIFAR-10 class {c}'})"
        for label, (name, c) in enumerate(zip(cfg.class_names, cfg.classes)))
    edition = (f"CIFAR-10, {a} vs {b} at {size}x{size} pixels, layers "
               f"{'-'.join(map(str, cfg.sizes))}, {n} settings of "
               f"(lr, momentum, weight decay), {cfg.epochs} epochs.")
    lib.need("import math", "import torch",
             "from pathlib import Path", "from types import SimpleNamespace")
    return [
        title("Part B: gradient descent", names, edition),
        glue(IMPORTS),
        code(lib, "trainers.default_device", "config.Setting"),
        glue(config_cell(cfg)),
        md(f"""## Task 1: the data

Load CIFAR-10 (torchvision downloads it; or an ImageFolder copy of it when
`MLP_LAB_DATA` names one) and keep two classes: {classes}. Resize the images
to {size}x{size}, split the official training images
{cfg.train_fraction:g}/{1 - cfg.train_fraction:.2g} into training and
validation with a seeded generator; the official test images are the test
split. {data_origin(record)}"""),
        code(lib, "sources.data_root", "images.open_datasets", "images.prepare"),
        code(lib, "figures.show_samples"),
        glue(DATA.format(size=size)),
        md("Normalize with the per-channel mean and standard deviation of the "
           "training split only (validation and test use the same numbers), then "
           "cut each split into mini-batches in a fixed order."),
        code(lib, "images.normalize", "images.batches",
             "figures.plot_channel_histograms"),
        glue(NORMALIZE),
        md(f"""## Task 2: the model

`MyMLP`: {' -> '.join(map(str, cfg.sizes))}, ReLU after each hidden layer,
no activation on the output (the cross-entropy loss applies the softmax)."""),
        code(lib, "models.MyMLP"),
        glue(MODEL),
        md("""## Task 3: `train`, with `torch.optim.SGD`

The training loop of the course's signature. `sgd_optimizer` makes
`torch.optim.SGD` update one parameter at a time (`foreach=False`), the
steps that task 4 repeats by hand."""),
        code(lib, "trainers.train", "trainers.sgd_optimizer"),
        md("""## Task 4: `train_manual_update`, without an optimizer

The same loop; each parameter is updated by hand, with the update rule that
`torch.optim.SGD` documents (dampening 0, no Nesterov), weight decay and
momentum included."""),
        code(lib, "trainers.train_manual_update"),
        md(f"""## Task 5: the same results, plain SGD

The two trainers give the same numbers only if everything else is equal:
`torch.manual_seed({cfg.seed})` before each model is created, {cfg.dtype},
and the same batches in the same order (no shuffling). `train_model` runs
either trainer on a setting; `run_of` trains a setting with both, the first
time a task needs it. The next cell compares the two trainers epoch by epoch
on the setting without momentum and weight decay."""),
        code(lib, "training.train_model", "training.max_abs_diff",
             "trainers.accuracy"),
        glue(TRAIN_ALL),
        md("""## Task 6: weight decay

The same comparison on a setting with weight decay (an L2 term) and no
momentum."""),
        glue(WEIGHT_DECAY),
        md("""## Task 7: momentum

The same comparison on a setting with momentum and no weight decay."""),
        glue(MOMENTUM),
        md(f"""## Task 8: every setting

The {n} settings, each trained for {cfg.epochs} epochs with batches of
{cfg.batch_size}: the final training loss (the mean over the last epoch's
batches), the accuracy on the training and validation splits, and the largest
difference between the final weights of the two trainers."""),
        code(lib, "figures.plot_losses", "figures.plot_accuracies"),
        glue(TABLE),
        md(factor_effects(record)),
        md("""## Task 9: model selection

The selected model is the one of highest validation accuracy (the first
on ties), among the settings whose training did not diverge."""),
        code(lib, "experiments.select_best"),
        glue(SELECT),
        md("""## Task 10: the selected model on the test split

Its accuracy and confusion matrix on the test images, seen here for the
first time."""),
        code(lib, "trainers.confusion_matrix", "figures.plot_confusion"),
        glue(TEST),
        md("**Analysis.** " + analysis(cfg, record)),
        md("The numbers of tasks 8 to 10, unrounded."),
        glue(FINAL),
    ]


def build(cfg: Config, names: list[str], record: Results) -> nbformat.NotebookNode:
    lib = Library()
    return notebook(cells(cfg, names, record, lib), lib)
