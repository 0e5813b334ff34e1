"""The pre-render freeze check on a temporary Quarto project (real files)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlp_lab.book import freeze
from mlp_lab.config import load_config

PROSE = "# Preface {#sec-preface}\n\nOnly words here.\n"
CODE = "# SGD {#sec-sgd}\n\n```{python}\n#| label: fig-loss\nimport mlp_lab\n```\n"
CHAPTERS = {"index": PROSE, "book/design": PROSE, "book/sgd": CODE,
            "book/results": CODE}


def _fp(**changes) -> dict:
    fp = {"source": "aaaa", "config": {"epochs": 30}, "data": "k1",
          "benchmarks": "b1", "partials": "p1", "authors": "q1",
          "course tests": ""}
    return {**fp, **changes}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """Chapters plus fake frozen outputs ``_freeze/<chapter>/execute-results``."""
    for name, text in CHAPTERS.items():
        (tmp_path / f"{name}.qmd").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.qmd").write_text(text)
        _freeze_output(tmp_path, name)
    (tmp_path / "_freeze" / "site_libs" / "x").mkdir(parents=True)
    return tmp_path


def _freeze_output(root: Path, name: str) -> None:
    results = root / "_freeze" / name / "execute-results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "html.json").write_text(json.dumps({"hash": "h", "result": {}}))
    (root / "_freeze" / name / "figure-html").mkdir(exist_ok=True)


def _frozen(root: Path) -> set[str]:
    return {str(p) for p in freeze.frozen_chapters(root)}


def test_finds_frozen_chapters_and_code_chapters(project):
    assert _frozen(project) == set(CHAPTERS)
    assert {str(p) for p in freeze.stale_outputs(project)} == {"book/sgd",
                                                               "book/results"}


def test_first_run_records_fingerprint_and_drops_unknown_code_outputs(project):
    result = freeze.refreeze(project, _fp())
    assert result["changed"] and result["why"] == ["no previous fingerprint"]
    assert _frozen(project) == {"index", "book/design"}
    record = project / "_freeze" / freeze.FINGERPRINT_FILE
    assert json.loads(record.read_text()) == _fp()


def test_same_fingerprint_removes_nothing(project):
    freeze.refreeze(project, _fp())
    for name in ("book/sgd", "book/results"):  # re-rendered since
        _freeze_output(project, name)
    (project / "book" / "design.qmd").write_text(PROSE + "\nEdited prose.\n")
    result = freeze.refreeze(project, _fp())
    assert result == {"changed": False, "why": [], "removed": []}
    assert _frozen(project) == set(CHAPTERS)


@pytest.mark.parametrize("change", [{"config": {"epochs": 2}}, {"source": "bbbb"},
                                    {"data": "k2"}, {"benchmarks": "b2"},
                                    {"partials": "p2"}, {"authors": "q2"},
                                    {"course tests": "c2"}])
def test_changed_fingerprint_removes_code_chapters_only(project, change):
    freeze.refreeze(project, _fp())
    for name in ("book/sgd", "book/results"):
        _freeze_output(project, name)
    result = freeze.refreeze(project, _fp(**change))
    assert result["changed"] and result["why"] == list(change)
    assert sorted(result["removed"]) == ["book/results", "book/sgd"]
    assert _frozen(project) == {"index", "book/design"}
    assert (project / "_freeze" / "site_libs" / "x").is_dir()
    assert freeze.refreeze(project, _fp(**change))["changed"] is False


def test_orphaned_frozen_output_is_removed(project):
    freeze.refreeze(project, _fp())
    _freeze_output(project, "book/old")
    freeze.refreeze(project, _fp(data="k2"))
    assert "book/old" not in _frozen(project)


def test_fingerprint_follows_config(tmp_path, monkeypatch):
    monkeypatch.delenv("MLP_LAB_CONFIG", raising=False)
    monkeypatch.setenv("MLP_LAB_DATA", str(tmp_path / "no-such-data"))
    default = freeze.fingerprint()
    assert default["config"] == load_config().to_dict()
    small = tmp_path / "small.toml"
    small.write_text("epochs = 2\n")
    monkeypatch.setenv("MLP_LAB_CONFIG", str(small))
    changed = freeze.fingerprint()
    assert changed["config"]["epochs"] == 2 and changed != default
    assert changed["source"] == default["source"]


def test_fingerprint_follows_the_data_files(image_tree, monkeypatch, tmp_path):
    """A tree that is there is fingerprinted by its files, and an edited image
    changes the fingerprint; only a missing tree is "unavailable"."""
    monkeypatch.delenv("MLP_LAB_CONFIG", raising=False)
    root = image_tree(classes=("automobile", "cat"), n_train=3, n_test=2)
    monkeypatch.setenv("MLP_LAB_DATA", str(root))
    first = freeze.fingerprint()["data"]
    assert first != "unavailable" and freeze.fingerprint()["data"] == first
    image = root / "test" / "cat" / "0000.png"
    image.write_bytes((root / "test" / "cat" / "0001.png").read_bytes())
    second = freeze.fingerprint()["data"]
    assert second not in (first, "unavailable")
    copy = shutil.copytree(root, tmp_path / "copy")
    monkeypatch.setenv("MLP_LAB_DATA", str(copy))  # another location
    assert freeze.fingerprint()["data"] not in (first, second, "unavailable")
    monkeypatch.setenv("MLP_LAB_DATA", str(tmp_path / "no-such-data"))
    assert freeze.fingerprint()["data"] == "unavailable"


def test_real_fingerprint_is_stable_across_runs(project, monkeypatch):
    """Tuples in the config survive the JSON record: a rerun changes nothing."""
    monkeypatch.delenv("MLP_LAB_CONFIG", raising=False)
    monkeypatch.setenv("MLP_LAB_DATA", str(project / "no-such-data"))
    assert freeze.refreeze(project, freeze.fingerprint())["changed"]
    assert not freeze.refreeze(project, freeze.fingerprint())["changed"]


def test_prerender_script_runs_from_project_root(project, image_tree):
    """book/_prerender.py as Quarto runs it: cwd = project root, a plain python,
    the project's own copy of mlp_lab. Editing any module of it (the book
    tooling included), recording a benchmark or providing the data each
    unfreezes the code chapters, for that reason."""
    src = Path(freeze.__file__).resolve().parents[2]
    shutil.copytree(src / "mlp_lab", project / "mlp_lab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(src / "book" / "_prerender.py", project / "book")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(project),
           "MLP_LAB_DATA": str(project / "no-such-data")}

    def prerender(**extra) -> str:
        proc = subprocess.run([sys.executable, "book/_prerender.py"], cwd=project,
                              env={**env, **extra}, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert prerender().startswith("mlp_lab freeze: changed")
    assert "unchanged" in prerender()
    assert _frozen(project) == {"index", "book/design"}
    assert (project / "_freeze" / freeze.FINGERPRINT_FILE).is_file()

    def edited(path: Path) -> str:
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n# edited\n")
        _freeze_output(project, "book/sgd")
        return prerender()

    for module in ("book/narrative.py", "trainers.py", "speed/bench.py"):
        out = edited(project / "mlp_lab" / module)
        assert out.startswith("mlp_lab freeze: changed (source); removed 1"), module
        assert "book/sgd" in out and "book/sgd" not in _frozen(project)
    (project / "benchmarks").mkdir()
    out = edited(project / "benchmarks" / "recorded.json")
    assert out.startswith("mlp_lab freeze: changed (benchmarks)")
    out = edited(project / "_quarto.yml")  # the division of work the preface prints
    assert out.startswith("mlp_lab freeze: changed (authors)")
    tree = image_tree(classes=("automobile", "cat"), n_train=3, n_test=2)
    assert prerender(MLP_LAB_DATA=str(tree)).startswith(
        "mlp_lab freeze: changed (data)")
    assert "unchanged" in prerender(MLP_LAB_DATA=str(tree))


def test_fingerprint_follows_the_course_tests_verdicts(cache_dir, monkeypatch, tmp_path):
    """make handin records the course's verdicts; the report says them, so a
    new verdict must re-execute it."""
    from mlp_lab.book import course

    monkeypatch.setenv("MLP_LAB_DATA", str(tmp_path / "no-such-data"))
    assert freeze.fingerprint()["course tests"] == ""
    course.save(dict.fromkeys(course.MODES, course.ABSENT))
    absent = freeze.fingerprint()["course tests"]
    course.save(dict.fromkeys(course.MODES, "passed"))
    assert freeze.fingerprint()["course tests"] not in ("", absent)
