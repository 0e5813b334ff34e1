"""Experiments: both trainers per setting, best-model selection, the results cache.

The end-to-end checks run on a tree a small MLP learns only in part
(``conftest.write_hard_tree``), so settings reach different accuracies,
training and validation accuracies differ and the confusion matrix is
asymmetric; every number of the run is recomputed here from the cached weights
and the data, or by training again with ``torch.optim.SGD`` written out.
"""

import dataclasses
import json
import math
import shutil
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mlp_lab.book import fmt, narrative
from mlp_lab.config import EXECUTION_FIELDS, Config, Setting
from mlp_lab.data import load_data
from mlp_lab.experiments import run, select_best
from mlp_lab.results import SettingResult, load_record
from mlp_lab.training import Trained, setting_result

EPOCHS = 2
SETTINGS = (Setting(0.05, 0.0, 0.0), Setting(0.05, 0.85, 0.01))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def cfg(image_tree) -> Config:
    """2 settings, 2 epochs, 4x4 images: 36 train, 4 val, 12 test."""
    root = image_tree(n_train=20, n_test=6, size=(8, 8))
    return Config(data_dir=str(root), image_size=4, sizes=(48, 8, 2),
                  epochs=EPOCHS, batch_size=8, settings=SETTINGS)


def plain(results) -> dict:
    """``results.to_dict()`` as it reads back from JSON."""
    return json.loads(json.dumps(results.to_dict()))


def without_time(d: dict) -> dict:
    """Per-setting dicts without wall times (a recomputation takes its own time)."""
    drop = ("seconds", "seconds_sgd", "seconds_manual")
    return [{k: v for k, v in s.items() if k not in drop} for s in d["settings"]]


def entries(cache_dir: Path) -> dict:
    """(lr, momentum, weight_decay) -> path of that setting's results JSON."""
    out = {}
    for path in (cache_dir / "results").glob("setting-*.json"):
        d = json.loads(path.read_text())
        out[(d["lr"], d["momentum"], d["weight_decay"])] = path
    return out


def result(val_acc, diverged=False, lr=0.01) -> SettingResult:
    return SettingResult(
        lr=lr, momentum=0.0, weight_decay=0.0, train_loss_sgd=[0.5],
        train_loss_manual=[0.5], train_acc=0.5,
        val_acc=val_acc, train_acc_manual=0.5, val_acc_manual=val_acc,
        max_abs_diff_loss=0.0, max_abs_diff_params=0.0,
        seconds_sgd=0.1, seconds_manual=0.1,
        diverged=diverged)


# ---------------------------------------------------------------- one run

def test_run_trains_both_trainers_identically(cfg):
    res = run(cfg)
    assert [(s.lr, s.momentum, s.weight_decay) for s in res.settings] == [
        (0.05, 0.0, 0.0), (0.05, 0.85, 0.01)]
    for s in res.settings:
        assert not s.from_cache and not s.diverged
        assert s.max_abs_diff_loss == 0.0 and s.max_abs_diff_params == 0.0
        assert s.train_loss_sgd == s.train_loss_manual
        # the manual model's accuracies are measured on it, not copied
        assert (s.train_acc_manual, s.val_acc_manual) == (s.train_acc, s.val_acc)
        assert len(s.train_loss_sgd) == EPOCHS
        assert 0.0 <= s.val_acc <= 1.0 and 0.0 <= s.train_acc <= 1.0
        assert sum(s.val_correct) / len(s.val_correct) == s.val_acc
        assert s.seconds == s.seconds_sgd + s.seconds_manual > 0
        assert s.final_loss == s.train_loss_sgd[-1]
    assert res.settings[0].train_loss_sgd != res.settings[1].train_loss_sgd
    assert res.data.n_train == 36 and res.data.n_val == 4 and res.data.n_test == 12
    assert res.env.device == "cpu" and res.env.sgd_path == "single-tensor"


def test_to_dict_is_json_with_the_cli_layout(cfg):
    res = run(cfg)
    d = plain(res)
    assert "from_cache" not in d["settings"][0]
    for s, raw in zip(res.settings, d["settings"]):
        assert raw["seconds"] == s.seconds_sgd + s.seconds_manual
        assert {k: raw[k] for k in raw if k != "seconds"} == {
            k: v for k, v in dataclasses.asdict(s).items() if k != "from_cache"}
    assert d["best"] == dataclasses.asdict(res.best)
    assert d["config"] == json.loads(json.dumps(cfg.to_dict()))
    assert d["data"] == json.loads(json.dumps(dataclasses.asdict(res.data)))


# ------------------------------------------------- end to end, recomputed

HARD_SETTINGS = (Setting(0.01), Setting(0.05), Setting(0.05, 0.85, 0.01),
                 Setting(0.02, 0.5))


@pytest.fixture
def hard(hard_tree) -> Config:
    """4 settings, 4 epochs on 4x4 noise with a weak signal: 60 train, 20 val,
    40 test images (sizes that tell the three splits apart)."""
    root = hard_tree(n_train=40, n_test=20)
    return Config(data_dir=str(root), image_size=4, sizes=(48, 8, 2), epochs=4,
                  batch_size=8, train_fraction=0.75, settings=HARD_SETTINGS)


def cached_states(cache_dir: Path) -> dict:
    """(lr, momentum, weight_decay) -> the SGD weights the results cache holds."""
    return {key: torch.load(path.with_suffix(".pt"), weights_only=True)["state"]
            for key, path in entries(cache_dir).items()}


def logits(state: dict, x: torch.Tensor) -> torch.Tensor:
    """The MLP of ``state`` applied to ``x``, layer by layer with F.linear and
    ReLU (not through mlp_lab's model)."""
    layers = sorted({int(k.split(".")[1]) for k in state})
    for n, i in enumerate(layers):
        x = F.linear(x, state[f"net.{i}.weight"], state[f"net.{i}.bias"])
        x = x.relu() if n < len(layers) - 1 else x
    return x


def predictions(state: dict, data, split: str) -> tuple[list[int], list[int]]:
    """(true labels, predicted labels) of ``split``."""
    x = data.normalized(split).flatten(1)
    return data.labels[split].tolist(), logits(state, x).argmax(1).tolist()


def accuracy_of(state: dict, data, split: str) -> float:
    y, pred = predictions(state, data, split)
    return sum(a == b for a, b in zip(y, pred)) / len(y)


def n_images(root: Path, split: str, cls: str) -> int:
    return len(list((root / split / cls).iterdir()))


def split_accuracies(res, hard, cache_dir, split: str) -> list[float]:
    """Each setting's accuracy on ``split``, recomputed from its cached weights."""
    data, states = load_data(hard), cached_states(cache_dir)
    return [accuracy_of(states[(s.lr, s.momentum, s.weight_decay)], data, split)
            for s in res.settings]


def test_accuracies_are_those_of_the_cached_weights_on_each_split(hard, cache_dir):
    res = run(hard)
    train = split_accuracies(res, hard, cache_dir, "train")
    val = split_accuracies(res, hard, cache_dir, "val")
    # The data is hard enough: errors everywhere, settings and splits differ.
    assert all(0 < a < 1 for a in train + val), (train, val)
    assert len(set(val)) > 1 and train != val, (train, val)
    assert [s.train_acc for s in res.settings] == train
    assert [s.val_acc for s in res.settings] == val


def test_val_correct_is_each_validation_image_right_or_wrong(hard, cache_dir):
    """The per-image record the paired comparison of (g) reads: 1 where the
    SGD model's prediction is right, in validation order; its mean is the
    validation accuracy, and settings differ image by image."""
    res = run(hard)
    data, states = load_data(hard), cached_states(cache_dir)
    for s in res.settings:
        y, pred = predictions(states[(s.lr, s.momentum, s.weight_decay)], data, "val")
        assert s.val_correct == [int(a == b) for a, b in zip(y, pred)]
        assert sum(s.val_correct) / len(s.val_correct) == s.val_acc
    assert len({tuple(s.val_correct) for s in res.settings}) > 1


def test_best_is_the_first_argmax_of_validation_accuracy(hard, cache_dir):
    res = run(hard)
    val = split_accuracies(res, hard, cache_dir, "val")
    train = split_accuracies(res, hard, cache_dir, "train")
    first = val.index(max(val))
    # The rules this tells apart: the first argmax, not the last, of the
    # validation accuracy, not of the training accuracy.
    last = len(val) - 1 - val[::-1].index(max(val))
    assert last != first and train.index(max(train)) != first, (
        "the synthetic data no longer tells these rules apart", val, train)
    assert res.best.index == first
    assert res.best.val_acc == val[first] and res.best.train_acc == train[first]


def test_best_model_is_tested_on_the_test_split_rows_true(hard, cache_dir):
    res = run(hard)
    data = load_data(hard)
    b = res.best
    s = res.settings[b.index]
    state = cached_states(cache_dir)[(s.lr, s.momentum, s.weight_decay)]
    y, pred = predictions(state, data, "test")
    expected = [[sum(t == i and p == j for t, p in zip(y, pred)) for j in (0, 1)]
                for i in (0, 1)]
    assert expected != [list(r) for r in zip(*expected)]  # asymmetric: orientation
    assert b.confusion == expected
    # rows are the true classes: their sums are the test images of each class
    root = Path(hard.data_dir)
    assert [sum(r) for r in b.confusion] == [n_images(root, "test", c)
                                             for c in hard.classes]
    assert b.test_acc == (expected[0][0] + expected[1][1]) / len(y)
    assert b.test_acc == accuracy_of(state, data, "test") != b.val_acc
    assert 0 < b.test_acc < 1
    # the book reads the same numbers back from the record, and its prose
    # names the errors of each true class
    assert load_record(hard).to_dict() == res.to_dict()
    car, cat = hard.class_names
    assert narrative.confusion_sentence(res).startswith(
        f"Of the {fmt.count(sum(expected[0]))} {car} test images, "
        f"{fmt.count(expected[0][1])} were taken for {cat} "
        f"({fmt.pct(expected[0][1] / sum(expected[0]))}), and of the "
        f"{fmt.count(sum(expected[1]))} {cat} images, {fmt.count(expected[1][0])} "
        f"for {car} ({fmt.pct(expected[1][0] / sum(expected[1]))})")


def test_data_summary_describes_the_splits_read_from_the_tree(hard):
    res = run(hard)
    d = res.data
    root = Path(hard.data_dir)
    train_files = [n_images(root, "train", c) for c in hard.classes]
    assert d.counts["test"] == [n_images(root, "test", c) for c in hard.classes]
    assert [a + b for a, b in zip(d.counts["train"], d.counts["val"])] == train_files
    assert (d.n_train, d.n_val, d.n_test) == tuple(
        sum(d.counts[s]) for s in ("train", "val", "test")) == (60, 20, 40)
    assert d.n_files == sum(train_files) + d.n_test
    assert d.file_types == [".png"]  # the tree's files: lossless, not JPEG
    # statistics and samples are the training split's
    data = load_data(hard)
    train = data.images["train"].to(torch.float64) / 255
    assert d.mean == pytest.approx(train.mean(dim=(0, 2, 3)).tolist(), rel=1e-12)
    assert d.std == pytest.approx(train.std(dim=(0, 2, 3)).tolist(), rel=1e-12)
    assert d.normalized_mean == pytest.approx([0, 0, 0], abs=1e-12)
    assert d.normalized_std == pytest.approx([1, 1, 1], abs=1e-12)
    y = data.labels["train"]
    for c in (0, 1):
        first = data.images["train"][y == c][:len(d.samples[c])]
        assert d.samples[c] == first.tolist() and len(first) == 8
    assert d.class_names == list(hard.class_names)


def reference_training(cfg: Config, setting: Setting, data) -> tuple:
    """The course's SGD training written out: seed, MLP drawn in float64,
    torch.optim.SGD over the training batches in order, validation accuracy
    after every epoch. (losses, validation accuracies, final state)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(cfg.seed)
        layers = [nn.Flatten()]
        for i, (a, b) in enumerate(zip(cfg.sizes[:-1], cfg.sizes[1:])):
            layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(cfg.sizes) - 2
                                           else [])
        model = nn.Sequential(*layers)
    finally:
        torch.set_default_dtype(previous)
    opt = torch.optim.SGD(model.parameters(), lr=setting.lr,
                          momentum=setting.momentum,
                          weight_decay=setting.weight_decay)
    x, y = data.normalized("train").flatten(1), data.labels["train"]
    losses = []
    for _ in range(cfg.epochs):
        batch_losses = []
        for i in range(0, len(y), cfg.batch_size):
            loss = F.cross_entropy(model(x[i:i + cfg.batch_size]),
                                   y[i:i + cfg.batch_size])
            opt.zero_grad()
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    state = {f"net.{k}": v.detach() for k, v in model.state_dict().items()}
    return losses, accuracy_of(state, data, "val"), state


def test_each_setting_is_the_training_it_claims(hard, cache_dir):
    """Losses, final weights and validation accuracy of every setting equal a
    training written out here from the course's recipe."""
    res = run(hard)
    data = load_data(hard)
    states = cached_states(cache_dir)
    curves = set()
    for s, setting in zip(res.settings, hard.settings):
        losses, val, state = reference_training(hard, setting, data)
        assert s.val_acc == val
        assert s.train_loss_sgd == pytest.approx(losses, rel=1e-12, abs=0)
        cached = states[(s.lr, s.momentum, s.weight_decay)]
        assert cached.keys() == state.keys()
        assert all(torch.equal(cached[k], state[k]) for k in state)
        curves.add(tuple(losses))
    assert len(curves) == len(res.settings)  # each its own curve


# ---------------------------------------------------------------- selection

def test_select_best_takes_the_first_of_equal_accuracies():
    results = [result(0.6), result(0.8), result(0.8), result(0.7)]
    assert select_best(results) == 1


def test_select_best_never_picks_a_diverged_setting():
    results = [result(0.6), result(0.95, diverged=True), result(0.7)]
    assert select_best(results) == 2
    assert select_best([result(0.9, diverged=True)] + results[:1]) == 1


def test_select_best_is_none_when_all_diverged_or_empty():
    assert select_best([result(0.9, True), result(0.5, True)]) is None
    assert select_best([]) is None


def test_run_with_every_setting_diverged_has_no_best(cfg):
    bad = dataclasses.replace(cfg, dtype="float32", epochs=3,
                              settings=(Setting(1e12), Setting(1e13)))
    res = run(bad)
    assert all(s.diverged for s in res.settings)
    # Both trainers hit the same NaNs: still identical, not "NaN apart".
    assert all(s.max_abs_diff_loss == 0.0 and s.max_abs_diff_params == 0.0
               for s in res.settings)
    # training went on to the last epoch: the divergence is read off the losses
    assert all(len(s.train_loss_sgd) == 3 and not math.isfinite(s.final_loss)
               for s in res.settings)
    assert res.best is None


# ---------------------------------------------------------------- cache

RUN_SCRIPT = """
import json, sys, time
from mlp_lab.config import Config, Setting
from mlp_lab.experiments import run
kw = json.loads(sys.argv[1])
kw["settings"] = tuple(Setting(**s) for s in kw["settings"])
kw["sizes"] = tuple(kw["sizes"])
start = time.perf_counter()
res = run(Config(**kw))
print(json.dumps({"seconds": time.perf_counter() - start,
                  "from_cache": [s.from_cache for s in res.settings],
                  "results": res.to_dict()}))
"""


def test_second_run_in_a_new_process_comes_from_the_cache(cfg, python_run):
    first = plain(run(cfg))
    kw = json.loads(json.dumps(cfg.to_dict()))
    proc = python_run(["-c", RUN_SCRIPT, json.dumps(kw)])
    assert proc.returncode == 0, proc.stderr
    second = json.loads(proc.stdout)
    print(f"\nrun served from the cache in a new process: "
          f"{second['seconds']:.3f} s")
    assert second["from_cache"] == [True, True]
    assert second["results"] == first  # every number, wall times included


def test_changing_one_setting_retrains_only_that_one(cfg):
    first = run(cfg)
    changed = dataclasses.replace(
        cfg, settings=(SETTINGS[0], Setting(0.02, 0.85, 0.01)))
    second = run(changed)
    assert [s.from_cache for s in second.settings] == [True, False]
    assert second.settings[0] == first.settings[0]
    assert second.settings[1].lr == 0.02
    # Reordering the settings retrains nothing.
    swapped = run(dataclasses.replace(changed, settings=changed.settings[::-1]))
    assert all(s.from_cache for s in swapped.settings)


# A change of each field that determines a setting's result, as Config
# overrides. "loss" has a single valid value, so there is nothing to change.
RESULT_CHANGES = {
    "classes": {"classes": ("automobile", "bird")},
    "classes (order)": {"classes": ("cat", "automobile")},
    "image_size": {"image_size": 2, "sizes": (12, 8, 2)},
    "train_fraction": {"train_fraction": 0.75},
    "split_seed": {"split_seed": 1},
    "limit_per_class": {"limit_per_class": 8},
    "sizes": {"sizes": (48, 6, 2)},
    "epochs": {"epochs": 2},
    "batch_size": {"batch_size": 4},
    "seed": {"seed": 1},
    "dtype": {"dtype": "float32"},
    "settings.lr": {"settings": (Setting(0.02, 0.5, 0.01),)},
    "settings.momentum": {"settings": (Setting(0.05, 0.9, 0.01),)},
    "settings.weight_decay": {"settings": (Setting(0.05, 0.5, 0.02),)},
}
SINGLE_VALUED = {"loss"}
# Fields that only name or locate things: the same result, from the cache.
DISPLAY_CHANGES = {
    "name": {"name": "another name"},
    "class_names": {"class_names": ("auto", "kitty")},
    "data_dir": {"data_dir": "copy"},  # a byte-identical copy of the tree
}


def test_every_field_is_either_a_result_field_or_a_display_field():
    fields = {f.name for f in dataclasses.fields(Config)} - {"settings"}
    changed = {k.split(" ")[0] for k in RESULT_CHANGES if "." not in k}
    shown = set(DISPLAY_CHANGES) | set(EXECUTION_FIELDS)
    assert changed | SINGLE_VALUED | shown == fields
    assert not changed & shown
    assert {k.split(".")[1] for k in RESULT_CHANGES if "." in k} == {
        f.name for f in dataclasses.fields(Setting)}


@pytest.fixture
def one(image_tree) -> Config:
    """One setting, one epoch on 4x4 images of three classes (10 train, 3 test)."""
    root = image_tree(n_train=10, n_test=3, size=(4, 4))
    return Config(data_dir=str(root), image_size=4, sizes=(48, 8, 2), epochs=1,
                  batch_size=8, settings=(Setting(0.05, 0.5, 0.01),))


@pytest.mark.parametrize("field", RESULT_CHANGES)
def test_changing_a_result_field_retrains(one, field):
    assert not run(one).settings[0].from_cache
    changed = dataclasses.replace(one, **RESULT_CHANGES[field])
    assert not run(changed).settings[0].from_cache
    # both entries stay: neither run overwrote the other's
    assert run(one).settings[0].from_cache and run(changed).settings[0].from_cache


@pytest.mark.parametrize("field", DISPLAY_CHANGES)
def test_changing_a_display_field_reuses_the_result(one, field, tmp_path):
    change = dict(DISPLAY_CHANGES[field])
    if field == "data_dir":
        change["data_dir"] = str(shutil.copytree(one.data_dir, tmp_path / "copy"))
    first = run(one)
    again = run(dataclasses.replace(one, **change))
    assert again.settings[0].from_cache
    assert again.settings[0] == first.settings[0]


def test_corrupt_results_json_is_recomputed(cfg, cache_dir):
    first = plain(run(cfg))
    path = entries(cache_dir)[(0.05, 0.85, 0.01)]
    text = path.read_text()
    path.write_text(text[:len(text) // 2])
    with pytest.warns(UserWarning, match="damaged"):
        again = run(cfg)
    assert [s.from_cache for s in again.settings] == [True, False]
    assert without_time(plain(again)) == without_time(first)
    assert json.loads(path.read_text())["val_acc"] == first["settings"][1]["val_acc"]
    assert all(s.from_cache for s in run(cfg).settings)  # repaired


@pytest.mark.parametrize("content", ["[1]", "drop-field"])
def test_wrongly_shaped_results_json_is_recomputed(cfg, cache_dir, content):
    run(cfg)
    path = entries(cache_dir)[(0.05, 0.85, 0.01)]
    if content == "drop-field":
        d = json.loads(path.read_text())
        del d["val_acc"]
        content = json.dumps(d)
    path.write_text(content)
    assert [s.from_cache for s in run(cfg).settings] == [True, False]


def test_deleting_the_weights_file_invalidates_the_entry(cfg, cache_dir):
    first = plain(run(cfg))
    path = entries(cache_dir)[(0.05, 0.0, 0.0)]
    weights = path.with_suffix(".pt")
    assert weights.is_file()
    weights.unlink()
    again = run(cfg)
    assert [s.from_cache for s in again.settings] == [False, True]
    assert weights.is_file()
    assert without_time(plain(again)) == without_time(first)
    assert plain(again)["best"] == first["best"]


def test_weights_of_another_entry_are_not_accepted(cfg, cache_dir):
    run(cfg)
    paths = entries(cache_dir)
    a = paths[(0.05, 0.0, 0.0)].with_suffix(".pt")
    b = paths[(0.05, 0.85, 0.01)].with_suffix(".pt")
    a.write_bytes(b.read_bytes())  # right file name, wrong key inside
    assert [s.from_cache for s in run(cfg).settings] == [False, True]


def test_results_cache_leaves_no_temporary_files(cfg, cache_dir):
    run(cfg)
    names = sorted(p.name for p in (cache_dir / "results").iterdir())
    # one .json and one .pt per setting, and the run's results record
    assert len(names) == 5 and sum(n.startswith("record-") for n in names) == 1
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]


def test_changing_the_data_retrains(cfg):
    run(cfg)
    image = Path(cfg.data_dir) / "train" / "cat" / "0000.png"
    image.write_bytes((Path(cfg.data_dir) / "train" / "cat" / "0001.png").read_bytes())
    assert not any(s.from_cache for s in run(cfg).settings)


def test_another_torchvision_release_retrains(cfg, monkeypatch):
    """The per-setting entries hold numbers torchvision's resize helped make."""
    from mlp_lab import cache
    run(cfg)
    assert all(s.from_cache for s in run(cfg).settings)
    monkeypatch.setattr(cache, "releases",
                        lambda: ["torch==2.14.1", "torchvision==0.0.1"])
    assert not any(s.from_cache for s in run(cfg).settings)


# ---------------------------------------------------------------- real data

def test_equality_holds_on_real_data(real_data):
    cfg = Config(data_dir=str(real_data), limit_per_class=300, epochs=2)
    start = time.perf_counter()
    res = run(cfg)
    print(f"\nreal data, 300 per class, 5 settings x 2 trainers x 2 epochs: "
          f"{time.perf_counter() - start:.1f} s; best {res.best}")
    assert res.data.n_train == 540 and res.data.n_test == 600
    assert len(res.settings) == 5
    for s in res.settings:
        assert s.max_abs_diff_loss == 0.0 and s.max_abs_diff_params == 0.0
        assert len(s.train_loss_sgd) == 2 and all(map(math.isfinite,
                                                      s.train_loss_sgd))
    assert res.best is not None and sum(map(sum, res.best.confusion)) == 600
    # Car vs cat is learnable: the best model beats chance on the test set.
    assert res.best.test_acc > 0.55


def test_a_setting_carries_each_models_own_accuracies_and_their_differences():
    """setting_result takes the manual model's accuracies from its own
    training, not the SGD model's, and measures how far apart the two end."""
    w = torch.zeros(3, dtype=torch.float64)
    sgd = Trained([0.5, 0.4], 1.0, {"w": w}, 0.9, 0.8, [1, 0, 1])
    manual = Trained([0.5, 0.4], 1.0, {"w": w.clone()}, 0.91, 0.81)
    r = setting_result(Setting(0.01), sgd, manual)
    assert (r.train_acc, r.val_acc) == (0.9, 0.8)
    assert (r.train_acc_manual, r.val_acc_manual) == (0.91, 0.81)
    assert r.identical and r.val_correct == [1, 0, 1]  # the SGD model's
    drifted = Trained([0.5, 0.4], 1.0, {"w": w + torch.tensor([0, 2e-16, 0],
                                                            dtype=w.dtype)}, 0.9, 0.8)
    r = setting_result(Setting(0.01), sgd, drifted)
    assert not r.identical and r.max_abs_diff_params == 2e-16
