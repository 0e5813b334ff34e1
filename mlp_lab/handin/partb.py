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
from ..book.original import COURSE_OUTPUT_2023, reference_for, setting_key
from ..cache import PROJECT_ROOT
from ..config import CIFAR10_CLASSES, CIFAR_SIZE, Config, model_name
from ..results import Results
from ..sources import data_root
from .cells import IMPORTS, code, glue, md, notebook, title
from .pull import Library

SETUP = IMPORTS + """

torch.set_default_dtype(torch.double)  # both trainers in float64
torch.set_num_threads(1)  # one thread, so that reruns reproduce these numbers exactly
print("PyTorch", torch.__version__, "torchvision", torchvision.__version__)"""

CONSTANTS = """
CLASSES = {classes}  # CIFAR-10's class names, labels 0 and 1 here
SIZES = {sizes}  # layer widths: 3 x {size} x {size} inputs, 2 outputs
N_EPOCHS, BATCH_SIZE, SEED = {epochs}, {batch}, {seed}
TRAIN_FRACTION, SPLIT_SEED = {fraction}, {split_seed}  # training / validation split
SETTINGS = [  # (learning rate, momentum, weight decay) of Models 1, 2, ...
{settings}]"""

DATA = """
{comment}
transform = {transform}
train_set = {dataset}
test_set = {test_dataset}{limit}
images, labels, mean, std = prepare(train_set, test_set, CLASSES,
                                    TRAIN_FRACTION, SPLIT_SEED)
for split in images:
    counts = torch.bincount(labels[split]).tolist()
    print(f"{{split:>5}}: {{sum(counts):5d}} images, {{counts[0]}} {{CLASSES[0]}} and "
          f"{{counts[1]}} {{CLASSES[1]}}")
show_samples(images["train"], labels["train"], CLASSES, 0, 255)"""

NORMALIZE = """
print("mean and std of the training split, per channel:", mean.numpy().round(3),
      std.numpy().round(3))
normalized = {split: normalize(x, mean, std) for split, x in images.items()}
train_x = normalized["train"]
print("after normalization:", train_x.mean(dim=(0, 2, 3)).numpy().round(3),
      train_x.std(dim=(0, 2, 3)).numpy().round(3))
show_samples(train_x, labels["train"], CLASSES, -1, 1)  # mean - std black, + std white
loaders = {split: batches(normalized[split], labels[split], BATCH_SIZE)
           for split in normalized}"""

MODEL = "print(MyMLP(SIZES))"

TRAIN_BOTH = """
def train_both(setting):
    \"\"\"Train two models from the same initial weights on setting (learning
    rate, momentum, weight decay), one with torch.optim.SGD and one with
    train_manual_update; return each one's losses per epoch and the model.\"\"\"
    lr, momentum, weight_decay = setting
    torch.manual_seed(SEED)
    sgd_model = MyMLP(SIZES)
    optimizer = torch.optim.SGD(sgd_model.parameters(), lr=lr, momentum=momentum,
                                weight_decay=weight_decay)
    sgd_losses = train(N_EPOCHS, optimizer, sgd_model, nn.CrossEntropyLoss(),
                       loaders["train"])
    torch.manual_seed(SEED)
    manual_model = MyMLP(SIZES)
    manual_losses = train_manual_update(N_EPOCHS, manual_model, nn.CrossEntropyLoss(),
                                        loaders["train"], lr, momentum, weight_decay)
    return {"sgd": {"losses": sgd_losses, "model": sgd_model},
            "manual": {"losses": manual_losses, "model": manual_model}}


def differences(pair):
    \"\"\"The largest difference between the two trainers' losses (over every
    epoch), and between their final weights: both 0 when identical.\"\"\"
    sgd, manual = pair["sgd"], pair["manual"]
    losses = max(abs(a - b) for a, b in zip(sgd["losses"], manual["losses"]))
    weights = max((p - q).abs().max().item() for p, q in
                  zip(sgd["model"].parameters(), manual["model"].parameters()))
    return losses, weights


def compare(pair):
    \"\"\"Both trainers' losses every 5 epochs, and whether all are identical.\"\"\"
    print("epoch  torch.optim.SGD  train_manual_update")
    for epoch, (sgd_loss, manual_loss) in enumerate(zip(pair["sgd"]["losses"],
                                                        pair["manual"]["losses"]), 1):
        if epoch == 1 or epoch % 5 == 0:
            print(f"{epoch:5d}  {sgd_loss:15.5f}  {manual_loss:19.5f}")
    losses, weights = differences(pair)
    same = "are identical" if losses == weights == 0 else "DIFFER"
    print(f"All {N_EPOCHS} losses and the final weights {same}: largest difference "
          f"{losses:.3g} in the losses, {weights:.3g} in the weights.")


results = {}  # model number -> its two trainings"""

COMPARE = """
results[{model}] = train_both(SETTINGS[{i}])  # {what}
compare(results[{model}])"""

NONE_QUALIFIES = """
print("None of the settings has {what}: there is nothing to compare.")"""

TABLE = """
for number, setting in enumerate(SETTINGS, 1):
    if number not in results:  # {trained}
        results[number] = train_both(setting)
train_acc, val_acc = {}, {}  # model number -> accuracy of its SGD model
print("model    lr  momentum  weight decay  final loss  train acc  val acc  identical")
for number, (lr, momentum, weight_decay) in enumerate(SETTINGS, 1):
    model = results[number]["sgd"]["model"]
    train_acc[number] = accuracy(model, loaders["train"])
    val_acc[number] = accuracy(model, loaders["val"])
    same = "yes" if differences(results[number]) == (0, 0) else "NO"
    print(f"{number:5d}  {lr:4g}  {momentum:8g}  {weight_decay:12g}  "
          f"{results[number]['sgd']['losses'][-1]:10.5f}  {train_acc[number]:9.2%}  "
          f"{val_acc[number]:7.2%}  {same:>9}")
plot_losses({f"Model {n}": pair["sgd"]["losses"] for n, pair in results.items()})"""

READING = """
for number, (lr, momentum, weight_decay) in enumerate(SETTINGS, 1):
    losses = results[number]["sgd"]["losses"]
    gap = 100 * (train_acc[number] - val_acc[number])
    step = lr / (1 - momentum)  # the step along a steady gradient
    rose = [e for e in range(2, N_EPOCHS + 1) if losses[e - 1] > losses[e - 2]]
    print(f"Model {number}: train - val accuracy {gap:.2f} points, "
          f"effective step {step:.3g}, loss rose in epochs {rose}")"""

SELECT = """
best = max(val_acc, key=val_acc.get)
p, n = val_acc[best], len(labels["val"])
second = max((acc for m, acc in val_acc.items() if m != best), default=p)
print(f"Selected: Model {best} {SETTINGS[best - 1]}, validation accuracy {p:.2%}, "
      f"{100 * (p - second):.2f} points above the next best")
print(f"standard error of an accuracy on {n} images: "
      f"{100 * (p * (1 - p) / n) ** 0.5:.2f} points")"""

TEST = """
model = results[best]["sgd"]["model"]
test_accuracy = accuracy(model, loaders["test"])
print(f"Model {best} on the test split: accuracy {test_accuracy:.2%}")
print("confusion matrix (rows: true class, columns: predicted):")
print(confusion_matrix(model, loaders["test"]).numpy())"""

COURSE = """
COURSE_OUTPUT = {{  # setting: (final loss, validation accuracy) the course published
{rows}}}
for number, setting in enumerate(SETTINGS, 1):
    if setting in COURSE_OUTPUT:
        loss, val = COURSE_OUTPUT[setting]
        ratio = results[number]["sgd"]["losses"][-1] / loss
        print(f"Model {{number}}: final loss {{ratio:.1f}} times the course's, "
              f"validation accuracy {{100 * (val_acc[number] - val):+.2f}} points off")"""

# Run in the executed kernel after the notebook's cells (not a cell of it):
# each training's losses and final parameters, for the record.
HANDOFF = """
torch.save({{f"{{m - 1}}/{{t}}": (pair[t]["losses"], pair[t]["model"].state_dict())
            for m, pair in results.items() for t in ("sgd", "manual")}}, {path!r})"""

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
                'transform=transform)' for t in (True, False)]
    else:
        folder = data_folder(root)
        comment = ("# an ImageFolder copy of CIFAR-10 (offline); with internet:\n"
                   '# datasets.CIFAR10("data", train=..., download=True, '
                   "transform=transform)")
        sets = [f'datasets.ImageFolder("{folder}/{s}", transform=transform)'
                for s in ("train", "test")]
    n = cfg.limit_per_class
    limit = ("" if not n else
             f"\ntrain_set = FirstPerClass(train_set, {n})  # a draft: {n} per class"
             f"\ntest_set = FirstPerClass(test_set, {n})")
    return DATA.format(comment=comment, transform=transform, dataset=sets[0],
                       test_dataset=sets[1], limit=limit)


def labelled(cfg: Config) -> str:
    """'car (CIFAR-10's automobile, label 1 there) as label 0 and cat (label 3
    there) as label 1'."""
    said = []
    for label, (name, cifar) in enumerate(zip(cfg.class_names, cfg.classes)):
        alias = "" if name == cifar else f"CIFAR-10's {cifar}, "
        said.append(f"{name} ({alias}label {CIFAR10_CLASSES.index(cifar)} there) "
                    f"as label {label}")
    return " and ".join(said)


def constants_cell(cfg: Config) -> str:
    rows = "".join(f"    ({s.lr!r}, {s.momentum!r}, {s.weight_decay!r}),\n"
                   for s in cfg.settings)
    return CONSTANTS.format(classes=list(cfg.classes),
                            sizes=list(cfg.sizes), size=cfg.image_size,
                            epochs=cfg.epochs, batch=cfg.batch_size, seed=cfg.seed,
                            fraction=cfg.train_fraction, split_seed=cfg.split_seed,
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


def course_cells(cfg: Config) -> list[nbformat.NotebookNode]:
    """For the edition whose output the course published (none otherwise):
    each shared setting's final loss as a multiple of the course's and the
    departure of its validation accuracy, which the comments then sum up."""
    ref = reference_for(cfg)
    if ref is not COURSE_OUTPUT_2023:
        return []
    theirs = {setting_key(t): (loss, val) for t, loss, val
              in zip(ref.config.settings, ref.final_loss, ref.val_acc)}
    rows = "".join(f"    {setting_key(s)!r}: {theirs[setting_key(s)]!r},\n"
                   for s in cfg.settings if setting_key(s) in theirs)
    if not rows:
        return []
    return [md(f"Against {ref.short} of its own solution, for the settings it has:"),
            glue(COURSE.format(rows=rows))]


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
    lib.need("import torch", "import torchvision", "from torch import nn",
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
           "training split only. The same samples again below, normalized: one "
           "standard deviation below the channel's mean shows black, one above "
           "white. Each split is then cut into mini-batches in a fixed order."),
        code(lib, "images.normalize", "images.batches"),
        glue(NORMALIZE),
        md(f"""## Task 2: the model

{' -> '.join(map(str, cfg.sizes))}, ReLU after each hidden layer, none on the
output: the cross-entropy loss applies the softmax to the logits."""),
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
        md("The numbers the comments below rest on: each setting's gap between "
           "training and validation accuracy, its effective step along a steady "
           "gradient, lr / (1 - momentum), and the epochs whose loss rose."),
        glue(READING),
        *course_cells(cfg),
        analysis_cell("effects"),
        md("## Task 9: model selection\n\nThe setting of highest validation "
           "accuracy, and the standard error of that accuracy, "
           "$\\sqrt{p(1-p)/n}$ on $n$ validation images."),
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
        "effects": "**Comments on the results.**\n\n" + _items(
            [A.factor_sentence(record, "momentum"),
             A.factor_sentence(record, "weight_decay"), A.overfit_sentence(record),
             A.loss_accuracy_sentence(record), A.stability_sentence(record),
             A.gap_sentence(record), A.reference_sentence(record)]),
        "selection": _items([A.diverged_sentence(record), A.why_sentence(record)]),
        "test": A.test_sentence(record) or "No model was selected or tested."}
    for cell in nb.cells:
        if ANALYSIS in cell.metadata:
            key = cell.metadata.pop(ANALYSIS)
            cell.source = texts[key] or "Nothing to add: the numbers above say it."
