"""The report's title block (handin.authors): the course and the project, then
the authors, then the division of work and, when set, the collaboration
statement, all from _quarto.yml."""

from __future__ import annotations

from mlp_lab.handin import authors

META = {"book": {"author": ["Ada", "Alan"]},
        "handin": {"course": "Deep learning", "project": "Project 1",
                   "division": "Ada wrote Part A; Alan Part B.",
                   "collaboration": "We discussed (d) with  Grace."}}


def test_title_block_names_course_and_project_above_the_authors():
    text = authors.byline_markdown(META)
    course = text.index('"Deep learning · Project 1"')
    assert course < text.index('"Ada and Alan"')
    assert "Deep learning · Project 1</p>" in text  # the HTML edition too
    alone = authors.byline_markdown({"book": {"author": "Ada"}})
    assert "·" not in alone and '"Ada"' in alone


def test_division_then_collaboration_when_set():
    assert authors.division_markdown(META) == (
        "**Division of work.** Ada wrote Part A; Alan Part B.\n\n"
        "**Collaboration.** We discussed (d) with Grace.\n")
    without = {**META, "handin": {"division": "Ada wrote it."}}
    assert authors.division_markdown(without) == "**Division of work.** Ada wrote it.\n"


def test_the_project_sets_course_and_project_next_to_the_authors():
    meta = authors.project_meta()
    assert authors.handin_text(meta, "course") and authors.handin_text(meta, "project")
    assert {"division", "collaboration"} <= set(meta["handin"])
