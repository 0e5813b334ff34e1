"""Part B, ``gradient_descent.ipynb``: one section per task of the assignment.

Its code cells are the library's core (data, ``MyMLP``, ``train``,
``train_manual_update``, scoring, figures), pulled from its source, and
short cells of its own that set the config's constants, train and print.
It runs on one thread in float64, with the library's seeds, split and batch
order, so its trainings are the results record's to the last bit: the
builder hands them to the record (:data:`HANDOFF`) rather than training
them again. The two Markdown analyses are written once the record exists
(:func:`analyses`).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from ..book import answers as A
from ..cache import PROJECT_ROOT
from ..config import CIFAR_SIZE, Config, model_name
from ..results import Results
from ..sources import data_root
from .cells import IMPORTS, code, glue, md, notebook, title
from .pull import Library

SETUP = IMPORTS + """

torch.set_default_dtype(torch.double)  # both trainers in float64
torch.set_num_threads(1)  # sums in one fixed order: the same numbers every run"""

CONSTANTS = """
CLASSES = {classes}  # CIFAR-10's names; labels 0 and 1{names}
SIZES = {sizes}  # layer widths: 3 x {size} x {size} inputs, 2 logits
N_EPOCHS, BATCH_SIZE, SEED = {epochs}, {batch}, {seed}
SETTINGS = [  # (learning rate, momentum, weight decay)
{settings}]"""

DATA = """
{comment}
to_tensor = {transform}
train_set = {dataset}
test_set = {test_dataset}{limit}
images, labels, mean, std = prepare(train_set, test_set, CLASSES,
                                    train_fraction={fraction}, seed={split_seed})
for split in images:
    n = torch.bincount(labels[split]).tolist()
    print(f"{{split:>5}}: {{sum(n):5d}} images, {{n[0]}} {{CLASS_NAMES[0]}} and "
          f"{{n[1]}} {{CLASS_NAMES[1]}}")
show_samples(images["train"], labels["train"], CLASS_NAMES)"""

NORMALIZE = """
print("training split, per channel: mean", mean.numpy().round(4),
      "std", std.numpy().round(4))
normalized = {split: normalize(x, mean, std) for split, x in images.items()}
plot_channel_histograms(normalized["train"])
loaders = {split: batches(x.flatten(1), labels[split], BATCH_SIZE)
           for split, x in normalized.items()}"""

MODEL = "print(MyMLP(SIZES))"

TRAIN_BOTH = """
def train_both(setting):
    \"\"\"A model trained by each trainer from the same seed: its losses per
    epoch, the final model and the seconds it took.\"\"\"
    lr, momentum, weight_decay = setting
    out = {}
    for trainer in ("sgd", "manual"):
        torch.manual_seed(SEED)
        model, loss_fn, start = MyMLP(SIZES), nn.CrossEntropyLoss(), time.time()
        if trainer == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                        weight_decay=weight_decay)
            losses = train(N_EPOCHS, optimizer, model, loss_fn, loaders["train"])
        else:
            losses = train_manual_update(N_EPOCHS, model, loss_fn, loaders["train"],
                                         lr, momentum, weight_decay)
        out[trainer] = {"losses": losses, "model": model,
                        "seconds": time.time() - start}
    out["seconds"] = out["sgd"]["seconds"] + out["manual"]["seconds"]
    return out


def compare(run):
    \"\"\"Both trainers' losses every 5 epochs; whether all losses and final
    weights are identical.\"\"\"
    sgd, manual = run["sgd"], run["manual"]
    print("epoch  torch.optim.SGD  train_manual_update")
    for epoch, (a, b) in enumerate(zip(sgd["losses"], manual["losses"]), 1):
        if epoch == 1 or epoch % 5 == 0:
            print(f"{epoch:5d}  {a:15.5f}  {b:19.5f}")
    loss_diff = max(abs(a - b) for a, b in zip(sgd["losses"], manual["losses"]))
    weight_diff = max((p - q).abs().max().item() for p, q in
                      zip(sgd["model"].parameters(), manual["model"].parameters()))
    same = loss_diff == weight_diff == 0
    print(f"All {N_EPOCHS} losses and the final weights "
          f"{'are identical' if same else 'DIFFER'}: largest difference "
          f"{max(loss_diff, weight_diff):.3g}.")


results = {}  # setting index -> its two trainings"""

COMPARE = """
results[{i}] = train_both(SETTINGS[{i}])  # {what}
compare(results[{i}])"""

NONE_QUALIFIES = """
print("None of the settings has {what}: there is nothing to compare.")"""

TABLE = """
for i, setting in enumerate(SETTINGS):
    if i not in results:  # {trained}
        results[i] = train_both(setting)
print("model      lr  momentum  weight decay  final loss  train acc  val acc  seconds")
for i, (lr, momentum, weight_decay) in enumerate(SETTINGS):
    run = results[i]
    run["train_acc"] = accuracy(run["sgd"]["model"], loaders["train"])
    run["val_acc"] = accuracy(run["sgd"]["model"], loaders["val"])
    print(f"{i + 1:5d}  {lr:6g}  {momentum:8g}  {weight_decay:12g}  "
          f"{run['sgd']['losses'][-1]:10.5f}  {run['train_acc']:9.2%}  "
          f"{run['val_acc']:7.2%}  {run['seconds']:7.1f}")
plot_losses({f"Model {i + 1}": results[i]["sgd"]["losses"] for i in results})"""

SELECT = """
best = max(results, key=lambda i: results[i]["val_acc"])
print(f"Selected: Model {best + 1} {SETTINGS[best]}, validation accuracy "
      f"{results[best]['val_acc']:.2%}")"""

TEST = """
model = results[best]["sgd"]["model"]
print(f"Model {best + 1} on the test split: accuracy "
      f"{accuracy(model, loaders['test']):.2%}")
confusion = confusion_matrix(model, loaders["test"])
print("confusion matrix (rows: true class, columns: predicted):")
print(confusion.numpy())
plot_confusion(confusion, CLASS_NAMES)"""

# Run in the executed kernel after the notebook's cells (not a cell of it):
# each training's losses, final parameters and seconds, for the record.
HANDOFF = """
torch.save({{f"{{i}}/{{t}}": (run[t]["losses"], run[t]["model"].state_dict(),
                            run[t]["seconds"])
            for i, run in results.items() for t in ("sgd", "manual")}}, {path!r})"""

# Tasks 5 to 7: the setting each compares the trainers on.
KINDS = (("plain SGD", lambda s: s.momentum == 0 and s.weight_decay == 0),
         ("weight decay alone", lambda s: s.momentum == 0 and s.weight_decay != 0),
         ("momentum alone", lambda s: s.momentum != 0 and s.weight_decay == 0))
ANALYSIS = "analysis"  # the metadata key of the Markdown cells analyses() fills


def data_folder(root: Path) -> str:
    """The ImageFolder tree ``root`` as the notebook names it, relative to the
    project (where Part B runs): itself when it lies inside, else a link
    ``data/<name>`` to it, made here."""
    try:
        return str(root.relative_to(PROJECT_ROOT))
    except ValueError:
        pass
    link = PROJECT_ROOT / "data" / root.name
    if link.is_symlink() and link.resolve() != root:
        link.unlink()
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(root, link, target_is_directory=True)
    return str(link.relative_to(PROJECT_ROOT))


def data_cell(cfg: Config) -> str:
    """Task 1's loading: torchvision's CIFAR-10, or the ImageFolder copy this
    machine reads offline; resized only where the size is not CIFAR's."""
    size = cfg.image_size
    transform = ("transforms.PILToTensor()" if size == CIFAR_SIZE else
                 f"transforms.Compose([transforms.Resize(({size}, {size})), "
                 "transforms.PILToTensor()])")
    root = data_root(cfg)
    if root is None:
        comment = "# CIFAR-10, downloaded by torchvision into data/ on the first run"
        sets = [f'datasets.CIFAR10("data", train={t}, download=True, '
                'transform=to_tensor)' for t in (True, False)]
    else:
        folder = data_folder(root)
        comment = (f"# an ImageFolder copy of CIFAR-10 (offline); with internet:\n"
                   '# datasets.CIFAR10("data", train=..., download=True, '
                   "transform=to_tensor)")
        sets = [f'datasets.ImageFolder("{folder}/{s}", transform=to_tensor)'
                for s in ("train", "test")]
    limit = ("" if not cfg.limit_per_class else
             f"\ntrain_set, test_set = (FirstPerClass(s, {cfg.limit_per_class})"
             " for s in (train_set, test_set))  # a small draft")
    return DATA.format(comment=comment, transform=transform, dataset=sets[0],
                       test_dataset=sets[1], limit=limit, fraction=cfg.train_fraction,
                       split_seed=cfg.split_seed)


def constants_cell(cfg: Config) -> str:
    rows = "".join(f"    ({s.lr!r}, {s.momentum!r}, {s.weight_decay!r}),\n"
                   for s in cfg.settings)
    names = ("" if cfg.class_names == cfg.classes else
             f"\nCLASS_NAMES = {list(cfg.class_names)}  # as the tables name them")
    return CONSTANTS.format(classes=list(cfg.classes), names=names,
                            sizes=list(cfg.sizes), size=cfg.image_size,
                            epochs=cfg.epochs, batch=cfg.batch_size, seed=cfg.seed,
                            settings=rows)


def compared(cfg: Config) -> list[tuple[str, int | None]]:
    """For tasks 5, 6 and 7: what each compares and the index of the first
    setting of that kind (None: the config has none)."""
    return [(what, next((i for i, s in enumerate(cfg.settings) if kind(s)), None))
            for what, kind in KINDS]


def comparison_cell(what: str, i: int | None) -> nbformat.NotebookNode:
    if i is None:
        return glue(NONE_QUALIFIES.format(what=what))
    return glue(COMPARE.format(i=i, what=f"{model_name(i)}: {what}"))


def analysis_cell(key: str) -> nbformat.NotebookNode:
    cell = md("*(written once the results exist)*")
    cell.metadata[ANALYSIS] = key
    return cell


def class_names(cfg: Config, source: str) -> str:
    """``source`` naming the classes CLASSES where the config gives them no
    other names (a second, equal list would only blur them)."""
    return source if cfg.class_names != cfg.classes else source.replace(
        "CLASS_NAMES", "CLASSES")


def cells(cfg: Config, names: list[str], lib: Library) -> list[nbformat.NotebookNode]:
    """The cells of Part B for ``cfg``, by ``names``."""
    a, b = cfg.class_names
    size, n = cfg.image_size, len(cfg.settings)
    tasks = compared(cfg)
    trained = [model_name(i) for _, i in tasks if i is not None]
    lib.need("import time", "import torch", "from torch import nn",
             "from torchvision import datasets, transforms")
    draft = [code(lib, "data.FirstPerClass")] if cfg.limit_per_class else []
    resized = ("" if size == CIFAR_SIZE else
               f" Each image is resized to {size}x{size} pixels (antialiased).")
    return [
        title("Part B: gradient descent", names,
              f"CIFAR-10, {a} vs {b} at {size}x{size} pixels, layers "
              f"{'-'.join(map(str, cfg.sizes))}, {n} settings of (learning rate, "
              f"momentum, weight decay), {cfg.epochs} epochs."),
        glue(SETUP),
        glue(constants_cell(cfg)),
        md(f"""## Task 1: the data

Two classes of CIFAR-10, {a} (label 0) and {b} (label 1).{resized} The
official training images are split {cfg.train_fraction:g}/{1 - cfg.train_fraction:.2g}
into training and validation by a seeded permutation; the official test images
are the test split."""),
        code(lib, "images.prepare", "figures.show_samples"),
        *draft,
        glue(class_names(cfg, data_cell(cfg))),
        md("Each channel is normalized with the mean and standard deviation of the "
           "training split only, and each split cut into batches in a fixed order."),
        code(lib, "images.normalize", "images.batches",
             "figures.plot_channel_histograms"),
        glue(NORMALIZE),
        md(f"""## Task 2: the model

{' -> '.join(map(str, cfg.sizes))}, ReLU after each hidden layer, none on the
output: the cross-entropy loss applies the softmax."""),
        code(lib, "models.MyMLP"),
        glue(MODEL),
        md("## Task 3: `train`, with `torch.optim.SGD`"),
        code(lib, "trainers.train"),
        md("""## Task 4: `train_manual_update`, without an optimizer

Each step updates every parameter by the rule `torch.optim.SGD` documents
(dampening 0, no Nesterov), weight decay and momentum included."""),
        code(lib, "trainers.sgd_step", "trainers.train_manual_update"),
        md(f"""## Task 5: the same results, plain SGD

Both trainers start from the same weights (`torch.manual_seed({cfg.seed})`
before each model is created), in float64, on the same batches in the same
order. `compare` prints their losses every 5 epochs and checks every loss
and final weight for equality."""),
        glue(TRAIN_BOTH),
        comparison_cell(*tasks[0]),
        md("## Task 6: weight decay"),
        comparison_cell(*tasks[1]),
        md("## Task 7: momentum"),
        comparison_cell(*tasks[2]),
        md(f"""## Task 8: every setting

Each of the {n} settings, {cfg.epochs} epochs in batches of
{cfg.batch_size}: the final training loss (the mean over the last epoch's
batches) and the accuracy on the training and validation splits of the
`torch.optim.SGD` model."""),
        code(lib, "trainers.accuracy", "figures.plot_losses"),
        glue(TABLE.replace("{trained}", f"{', '.join(trained)}: trained in tasks 5 "
                           "to 7" if trained else "none was trained before")),
        analysis_cell("effects"),
        md("## Task 9: model selection\n\nThe highest validation accuracy."),
        glue(SELECT),
        analysis_cell("selection"),
        md("""## Task 10: the selected model on the test split

Seen here for the first time."""),
        code(lib, "trainers.confusion_matrix", "figures.plot_confusion"),
        glue(class_names(cfg, TEST)),
        analysis_cell("test"),
    ]


def build(cfg: Config, names: list[str]) -> nbformat.NotebookNode:
    lib = Library()
    return notebook(cells(cfg, names, lib), lib)


# ---------------------------------------------------------------- once trained

def _items(sentences: list[str]) -> str:
    return "\n".join(f"- {s}" for s in sentences if s)


def analyses(nb: nbformat.NotebookNode, record: Results) -> None:
    """Write the Markdown analyses of tasks 8, 9 and 10 from ``record`` (whose
    numbers are the notebook's), in place: the report's answer (g) and its
    selection and test sentences (``book.answers``), said once for both."""
    texts = {
        "effects": "**Reading the table.**\n\n" + _items(
            [A.factor_sentence(record, "momentum"),
             A.factor_sentence(record, "weight_decay"),
             A.stability_sentence(record), A.gap_sentence(record),
             A.reference_sentence(record)]),
        "selection": _items([A.diverged_sentence(record), A.why_sentence(record),
                             A.lead_sentence(record)]),
        "test": A.test_sentence(record) or "No model was selected or tested."}
    for cell in nb.cells:
        if ANALYSIS in cell.metadata:
            key = cell.metadata.pop(ANALYSIS)
            cell.source = texts[key] or "Nothing to add: the numbers above say it."
