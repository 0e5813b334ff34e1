"""book.report: a chapter's setup line and the listings it shows."""

from __future__ import annotations

import inspect
import re
import textwrap

import pytest

from mlp_lab.book import report
from mlp_lab.cache import PROJECT_ROOT

LISTED = re.compile(r'report\.listing\("([\w.]+)"\)')


def _listed() -> list[str]:
    return sorted({name for qmd in [PROJECT_ROOT / "index.qmd",
                                    *(PROJECT_ROOT / "book").glob("*.qmd")]
                   for name in LISTED.findall(qmd.read_text(encoding="utf-8"))})


def test_chapters_show_listings():
    assert {"trainers.sgd_step", "backprop.MyNet", "gradcheck.check_gradients",
            "training.optimizer"} <= set(_listed())


@pytest.mark.parametrize("name", _listed())
def test_listing_read_from_the_file_is_the_imported_source(name):
    """The listing (read with ast, no import) is what inspect shows of the
    imported object: the code shown is the code that ran."""
    import importlib

    module, _, qualname = name.partition(".")
    obj = importlib.import_module(f"mlp_lab.{module}")
    for part in qualname.split("."):
        obj = getattr(obj, part)
    obj = inspect.unwrap(obj)
    assert report.source_text(name) == textwrap.dedent(inspect.getsource(obj))


def test_listing_includes_decorators_and_is_a_python_block():
    text = report.listing("trainers.sgd_step").data
    assert text.startswith("```python\n@torch.no_grad()\ndef sgd_step(")
    assert text.endswith("```")


def test_missing_benchmark_is_none(monkeypatch, tmp_path):
    monkeypatch.setattr(report, "BENCHMARKS", tmp_path)
    assert report.benchmark("recorded") is None
    (tmp_path / "recorded.json").write_text('{"speedup": 1.5}')
    assert report.benchmark("recorded") == {"speedup": 1.5}
