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
torch.set_num_threads(1)  # one thread: the same numbers on any machine
print("PyTorch", torch.__version__)"""

CONSTANTS = """
CLASSES = {classes}  # CIFAR-10's names: labels 0 and 1
SIZES = {sizes}  # layer widths: 3 x {size} x {size} inputs, 2 outputs
N_EPOCHS, BATCH_SIZE, SEED = {epochs}, {batch}, {seed}
SETTINGS = [  # (learning rate, momentum, weight decay) of Models 1, 2, ...
{settings}]"""

DATA = """
{comment}
to_tensor = {transform}
train_set = {dataset}
test_set = {test_dataset}{limit}
images, labels, mean, std = prepare(train_set, test_set, CLASSES,
                                    train_fraction={fraction}, seed={split_seed})
for split in images:
    counts = torch.bincount(labels[split]).tolist()
    print(f"{{split:>5}}: {{sum(counts):5d}} images, {{counts[0]}} {{CLASSES[0]}} and "
          f"{{counts[1]}} {{CLASSES[1]}}")
show_samples(images["train"], labels["train"], CLASSES, 0, 255)"""

NORMALIZE = """
print("mean and std of the training split, per channel:", mean.numpy().round(3),
      std.numpy().round(3))
normalized = {split: normalize(x, mean, std) for split, x in images.items()}
x = normalized["train"]
print("after normalization:", x.mean(dim=(0, 2, 3)).numpy().round(3),
      x.std(dim=(0, 2, 3)).numpy().round(3))
show_samples(x, labels["train"], CLASSES, -2, 2)  # -2 black, +2 white
loaders = {split: batches(x.flatten(1), labels[split], BATCH_SIZE)
           for split, x in normalized.items()}"""

MODEL = "print(MyMLP(SIZES))"

TRAIN_BOTH = """
def train_both(setting):
    \"\"\"A new model trained by each trainer from the same seed on setting
    (learning rate, momentum, weight decay): the losses and the model.\"\"\"
    lr, momentum, weight_decay = setting
    out = {}
    for trainer in ("sgd", "manual"):
        torch.manual_seed(SEED)
        model, loss_fn = MyMLP(SIZES), nn.CrossEntropyLoss()
        if trainer == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                        weight_decay=weight_decay)
            losses = train(N_EPOCHS, optimizer, model, loss_fn, loaders["train"])
        else:
            losses = train_manual_update(N_EPOCHS, model, loss_fn, loaders["train"],
                                         lr, momentum, weight_decay)
        out[trainer] = {"losses": losses, "model": model}
    return out


def largest_difference(run):
    \"\"\"The largest difference between the two trainers' losses, over every
    epoch, and between their final weights (0: identical).\"\"\"
    sgd, manual = run["sgd"], run["manual"]
    losses = max(abs(a - b) for a, b in zip(sgd["losses"], manual["losses"]))
    weights = max((p - q).abs().max().item() for p, q in
                  zip(sgd["model"].parameters(), manual["model"].parameters()))
    return max(losses, weights)


def compare(run):
    \"\"\"Both trainers' losses every 5 epochs, and whether all are identical.\"\"\"
    print("epoch  torch.optim.SGD  train_manual_update")
    for epoch, (a, b) in enumerate(zip(run["sgd"]["losses"],
                                       run["manual"]["losses"]), 1):
        if epoch == 1 or epoch % 5 == 0:
            print(f"{epoch:5d}  {a:15.5f}  {b:19.5f}")
    difference = largest_difference(run)
    print(f"All {N_EPOCHS} losses and the final weights "
          f"{'are identical' if difference == 0 else 'DIFFER'}: largest "
          f"difference {difference:.3g}.")


results = {}  # model number -> its two trainings"""

COMPARE = """
results[{model}] = train_both(SETTINGS[{i}])  # {what}
compare(results[{model}])"""

NONE_QUALIFIES = """
print("None of the settings has {what}: there is nothing to compare.")"""

TABLE = """
for model, setting in enumerate(SETTINGS, 1):
    if model not in results:  # {trained}
        results[model] = train_both(setting)
print("model    lr  momentum  weight decay  final loss  train acc  val acc  identical")
for model, (lr, momentum, weight_decay) in enumerate(SETTINGS, 1):
    run = results[model]
    run["train_acc"] = accuracy(run["sgd"]["model"], loaders["train"])
    run["val_acc"] = accuracy(run["sgd"]["model"], loaders["val"])
    same = "yes" if largest_difference(run) == 0 else "NO"
    print(f"{model:5d}  {lr:4g}  {momentum:8g}  {weight_decay:12g}  "
          f"{run['sgd']['losses'][-1]:10.5f}  {run['train_acc']:9.2%}  "
          f"{run['val_acc']:7.2%}  {same:>9}")
plot_losses({f"Model {m}": run["sgd"]["losses"] for m, run in results.items()})"""

READING = """
for model, (lr, momentum, weight_decay) in enumerate(SETTINGS, 1):
    run, losses = results[model], results[model]["sgd"]["losses"]
    gap = 100 * (run["train_acc"] - run["val_acc"])
    step = lr / (1 - momentum)  # the step along a steady gradient
    rose = [e for e in range(2, N_EPOCHS + 1) if losses[e - 1] > losses[e - 2]]
    print(f"Model {model}: train - val accuracy {gap:.2f} points, "
          f"effective step {step:.3g}, loss rose in epochs {rose}")
FACTORS = ("learning rate", "momentum", "weight decay")
for a in range(1, len(SETTINGS) + 1):
    for b in range(a + 1, len(SETTINGS) + 1):
        changed = [k for k in range(3) if SETTINGS[a - 1][k] != SETTINGS[b - 1][k]]
        if len(changed) == 1:  # Models a and b differ in one factor only
            k = changed[0]
            change = 100 * (results[b]["val_acc"] - results[a]["val_acc"])
            print(f"Model {a} -> {b}, {FACTORS[k]} {SETTINGS[a - 1][k]:g} -> "
                  f"{SETTINGS[b - 1][k]:g}: validation accuracy {change:+.2f} points")"""

SELECT = """
best = max(results, key=lambda m: results[m]["val_acc"])
accuracy_best, n = results[best]["val_acc"], len(labels["val"])
print(f"Selected: Model {best} {SETTINGS[best - 1]}, validation accuracy "
      f"{accuracy_best:.2%}; its standard error on {n} images: "
      f"{100 * (accuracy_best * (1 - accuracy_best) / n) ** 0.5:.2f} points")"""

TEST = """
model = results[best]["sgd"]["model"]
test_accuracy = accuracy(model, loaders["test"])
print(f"Model {best} on the test split: accuracy {test_accuracy:.2%}")
print("confusion matrix (rows: true class, columns: predicted):")
print(confusion_matrix(model, loaders["test"]).numpy())"""

# Run in the executed kernel after the notebook's cells (not a cell of it):
# each training's losses and final parameters, for the record.
HANDOFF = """
torch.save({{f"{{m - 1}}/{{t}}": (run[t]["losses"], run[t]["model"].state_dict())
            for m, run in results.items() for t in ("sgd", "manual")}}, {path!r})"""

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
        comment = ("# an ImageFolder copy of CIFAR-10 (offline); with internet:\n"
                   '# datasets.CIFAR10("data", train=..., download=True, '
                   "transform=to_tensor)")
        sets = [f'datasets.ImageFolder("{folder}/{s}", transform=to_tensor)'
                for s in ("train", "test")]
    n = cfg.limit_per_class
    limit = ("" if not n else
             f"\ntrain_set = FirstPerClass(train_set, {n})  # a draft: {n} per class"
             f"\ntest_set = FirstPerClass(test_set, {n})")
    return DATA.format(comment=comment, transform=transform, dataset=sets[0],
                       test_dataset=sets[1], limit=limit, fraction=cfg.train_fraction,
                       split_seed=cfg.split_seed)


def labelled(cfg: Config) -> str:
    """'car (CIFAR-10's automobile, label 0) and cat (label 1)'."""
    said = []
    for label, (name, cifar) in enumerate(zip(cfg.class_names, cfg.classes)):
        alias = "" if name == cifar else f"CIFAR-10's {cifar}, "
        said.append(f"{name} ({alias}label {label})")
    return " and ".join(said)


def constants_cell(cfg: Config) -> str:
    rows = "".join(f"    ({s.lr!r}, {s.momentum!r}, {s.weight_decay!r}),\n"
                   for s in cfg.settings)
    return CONSTANTS.format(classes=list(cfg.classes),
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
    return glue(COMPARE.format(i=i, model=i + 1, what=f"{model_name(i)}: {what}"))


def analysis_cell(key: str) -> nbformat.NotebookNode:
    cell = md("*(written once the results exist)*")
    cell.metadata[ANALYSIS] = key
    return cell


def cells(cfg: Config, names: list[str], lib: Library) -> list[nbformat.NotebookNode]:
    """The cells of Part B for ``cfg``, by ``names``."""
    a, b = cfg.class_names
    size, n = cfg.image_size, len(cfg.settings)
    tasks = compared(cfg)
    trained = [model_name(i) for _, i in tasks if i is not None]
    lib.need("import torch", "from torch import nn",
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

Two classes of CIFAR-10, {labelled(cfg)}.{resized} The
official training images are split {cfg.train_fraction:g}/{1 - cfg.train_fraction:.2g}
into training and validation by a seeded permutation; the official test images
are the test split."""),
        code(lib, "images.prepare", "figures.show_samples"),
        *draft,
        glue(data_cell(cfg)),
        md("Each channel is normalized with the mean and standard deviation of the "
           "training split only (the same samples again below, values from -2 to "
           "2 shown from black to white), and each split is cut into batches in a "
           "fixed order."),
        code(lib, "images.normalize", "images.batches"),
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
        md("What the table says: each setting's gap between training and validation "
           "accuracy, its effective step along a steady gradient and the epochs "
           "whose loss rose; and the change of validation accuracy between "
           "settings that differ in one factor."),
        glue(READING),
        analysis_cell("effects"),
        md("## Task 9: model selection\n\nThe highest validation accuracy."),
        glue(SELECT),
        analysis_cell("selection"),
        md("""## Task 10: the selected model on the test split

Seen here for the first time."""),
        code(lib, "trainers.confusion_matrix"),
        glue(TEST),
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
