"""``python -m mlp_lab {run,data}`` end to end, in new processes, on a small tree."""

import json
import re

import pytest

from mlp_lab.cli import main
from mlp_lab.config import load_config
from mlp_lab.results import json_safe, load_record

SMALL = """\
image_size = 4
sizes = [48, 8, 2]
epochs = 2
batch_size = 8

[[settings]]
lr = 0.05

[[settings]]
lr = 0.05
momentum = 0.85
weight_decay = 0.01
"""


@pytest.fixture
def env(hard_tree, cache_dir):
    """A 20-train / 5-test images per class tree and the per-test cache. The
    classes differ by a weak signal only: accuracies of settings and splits
    differ, so a column printed under another's name would show."""
    root = hard_tree(n_train=20, n_test=5)
    return {"MLP_LAB_DATA": root, "MLP_LAB_CACHE": cache_dir,
            "MLP_LAB_CONFIG": None}


@pytest.fixture
def small_toml(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def strict_json(text):
    def reject(constant):
        raise ValueError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=reject)


def test_run_prints_the_table_and_writes_json(python_run, env, small_toml, tmp_path,
                                              monkeypatch):
    out = tmp_path / "out.json"
    proc = python_run(["-m", "mlp_lab", "run", "--config", small_toml,
                       "--json", out], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "36 train / 4 val / 10 test images (imagefolder)" in lines[0]
    header = next(line for line in lines if "val_acc" in line)
    for column in ("lr", "momentum", "weight_decay", "final_loss", "train_acc"):
        assert column in header
    assert sum(line.startswith("Model ") for line in lines) == 2
    assert any(line.startswith("Best: Model ") for line in lines)
    assert "0 of 2 settings from the results cache" in proc.stdout
    assert "Traceback" not in proc.stderr

    d = strict_json(out.read_text())
    assert d["data"]["source"] == "imagefolder"
    assert (d["data"]["n_train"], d["data"]["n_val"], d["data"]["n_test"]) == (
        36, 4, 10)
    # The JSON is the record the book reads: both show the same numbers.
    monkeypatch.setenv("MLP_LAB_DATA", str(env["MLP_LAB_DATA"]))
    monkeypatch.delenv("MLP_LAB_CONFIG", raising=False)
    record = load_record(load_config(small_toml))
    assert d == json.loads(json.dumps(json_safe(record.to_dict())))
    for s in d["settings"]:
        assert s["max_abs_diff_loss"] == 0.0 and s["max_abs_diff_params"] == 0.0
        assert s["train_loss_sgd"] == s["train_loss_manual"]
        assert len(s["train_loss_sgd"]) == 2
        assert s["seconds"] == s["seconds_sgd"] + s["seconds_manual"]
    assert [(s["lr"], s["momentum"], s["weight_decay"]) for s in d["settings"]] == [
        (0.05, 0.0, 0.0), (0.05, 0.85, 0.01)]
    # The printed table shows each setting's numbers in their own columns.
    names = header.split()
    rows = [line.split()[2:] for line in lines if line.startswith("Model ")]
    for s, row in zip(d["settings"], rows):
        shown = dict(zip(names, row))
        for column in ("lr", "momentum", "weight_decay", "train_acc", "val_acc"):
            assert float(shown[column]) == pytest.approx(s[column], abs=5e-5)
        assert float(shown["final_loss"]) == pytest.approx(s["train_loss_sgd"][-1],
                                                           abs=5e-5)
    assert any(s["train_acc"] != s["val_acc"] for s in d["settings"])
    best = d["best"]
    accs = [s["val_acc"] for s in d["settings"]]
    assert best["index"] == accs.index(max(accs))
    assert [row[-1] for row in rows] == [str(i == best["index"])
                                         for i in range(len(rows))]
    cm = best["confusion"]
    assert all(isinstance(v, int) for row in cm for v in row)
    assert [sum(row) for row in cm] == [5, 5]  # rows: the true classes
    assert best["test_acc"] == (cm[0][0] + cm[1][1]) / 10
    # The printed best line agrees with the JSON.
    assert (f"Best: Model {best['index'] + 1} (val acc {best['val_acc']:.4f}), "
            f"test acc {best['test_acc']:.4f}, confusion {cm}") in proc.stdout

    # A second run is served from the results cache, with the same numbers.
    again = python_run(["-m", "mlp_lab", "run", "--config", small_toml,
                        "--json", tmp_path / "again.json"], env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 of 2 settings from the results cache" in again.stdout
    assert strict_json((tmp_path / "again.json").read_text()) == d


def test_data_prints_split_sizes_and_class_counts(python_run, env, small_toml):
    proc = python_run(["-m", "mlp_lab", "data", "--config", small_toml], env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"source: imagefolder ({env['MLP_LAB_DATA'].resolve()}), 50 files" in (
        proc.stdout)
    found = {m[0]: tuple(map(int, m[1:])) for m in re.findall(
        r"(train|val|test):\s+(\d+) images \((\d+) car, (\d+) cat\)", proc.stdout)}
    assert set(found) == {"train", "val", "test"}
    assert found["train"][0] == 36 and found["val"][0] == 4
    assert found["test"] == (10, 5, 5)
    for split in ("train", "val"):
        assert found[split][0] == found[split][1] + found[split][2]
    assert found["train"][1] + found["val"][1] == 20  # all car images, split
    assert "mean:" in proc.stdout and "std:" in proc.stdout


def test_bad_config_exits_2_with_a_one_line_error(python_run, env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("image_size = 4\nsizes = [48, 8, 2]\nepochs = 0\n")
    proc = python_run(["-m", "mlp_lab", "run", "--config", bad], env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "'epochs'" in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("text,field", [
    ("learning_rate = 0.1", "learning_rate"),
    ("[[settings]]\nlr = -1", "settings[0].lr"),
    ("[[settings]]\nlr = 0.1\nmomentum = 1.0", "settings[0].momentum"),
    ("train_fraction = 1.0", "train_fraction"),
    ('classes = ["automobile", "dragon"]', "classes"),
    ('dtype = "half"', "dtype"),
    ("epochs = [", "not valid TOML"),
])
@pytest.mark.parametrize("command", ["run", "data"])
def test_bad_config_error_names_the_field(tmp_path, capsys, text, field, command):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert main([command, "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and field in err
    assert len(err.strip().splitlines()) == 1


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert main(["data", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_missing_data_folder_exits_2_with_the_message(python_run, env, small_toml,
                                                      tmp_path):
    missing = tmp_path / "no-data-here"
    proc = python_run(["-m", "mlp_lab", "data", "--config", small_toml],
                      env={**env, "MLP_LAB_DATA": missing})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert str(missing) in lines[0] and "MLP_LAB_DATA" in lines[0]
    assert "download" in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_class_folder_exits_2(env, small_toml, monkeypatch, capsys):
    for k, v in env.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, str(v))
    (env["MLP_LAB_DATA"] / "test" / "cat").rename(env["MLP_LAB_DATA"] / "test" / "x")
    assert main(["run", "--config", str(small_toml)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: class folder missing") and "'cat'" in err


def test_help_is_plain_text(python_run):
    """``--help`` of the command and of every subcommand, as a terminal shows
    it: no reStructuredText markup (the description is cli's docstring)."""
    proc = python_run(["-m", "mlp_lab", "--help"])
    assert proc.returncode == 0, proc.stderr
    assert "Command line: python -m mlp_lab {run,data,bench,book-bench,handin}." \
        in proc.stdout
    helps = {"": proc.stdout}
    for command in ("run", "data", "bench", "book-bench", "handin"):
        sub = python_run(["-m", "mlp_lab", command, "--help"])
        assert sub.returncode == 0, sub.stderr
        helps[command] = sub.stdout
    marked = {c: re.findall(r".*`.*", text) for c, text in helps.items()}
    assert not any(marked.values()), marked
