"""book.timing: each chapter of a book timed in a fresh kernel, in book order."""

from __future__ import annotations

import os

from mlp_lab.book import timing


def test_book_timing_runs_every_chapter_in_order(tmp_path):
    (tmp_path / "_quarto.yml").write_text(
        "book:\n  chapters:\n    - index.qmd\n    - b.qmd\n  appendices:\n"
        "    - a.qmd\n")
    (tmp_path / "index.qmd").write_text("# I\n\nWords.\n")
    (tmp_path / "b.qmd").write_text(
        "# B\n\n```{python}\nimport time\ntime.sleep(0.3)\nopen('ran', 'w')\n```\n")
    (tmp_path / "a.qmd").write_text("# A\n\nValue `{python} 1 + 1`.\n")
    # The chapter sleeps 0.3 s: a lower bound on its time on any machine, so
    # that the test can tell that the time is the chapter's (no upper bound).
    t = timing.book_timing(tmp_path, dict(os.environ))
    assert [c["chapter"] for c in t["chapters"]] == ["index.qmd", "b.qmd", "a.qmd"]
    seconds = {c["chapter"]: c["seconds"] for c in t["chapters"]}
    assert seconds["b.qmd"] >= 0.3 and (tmp_path / "ran").is_file()
    assert t["total_s"] == sum(seconds.values())
    text = timing.format_timing(t)
    assert text.splitlines()[1].lstrip().startswith("b.qmd")
    assert "all chapters (one format)" in text.splitlines()[-1]
