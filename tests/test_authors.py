"""The report's byline (handin.authors): the course and the project, then the
authors on its HTML page (its PDF's title block shows the same from the
metadata, book/report/), then the division of work and, when set, the
collaboration statement, all from _quarto.yml."""

from __future__ import annotations

from mlp_lab.handin import authors

META = {"book": {"author": ["Ada", "Alan"]},
        "handin": {"course": "Deep learning", "project": "Project 1",
                   "division": "Ada wrote Part A; Alan Part B.",
                   "collaboration": "We discussed (d) with  Grace."}}


def test_the_byline_names_course_and_project_above_the_authors():
    text = authors.byline_markdown(META)
    assert text.index("Deep learning · Project 1</p>") < text.index("Ada and Alan</p>")
    assert "{=typst}" not in text  # the PDF's title block is the Typst partial's
    alone = authors.byline_markdown({"book": {"author": "Ada"}})
    assert "·" not in alone and ">Ada</p>" in alone


def test_the_pdf_title_block_takes_course_project_and_authors_from_the_metadata():
    """The report's Typst partials: course and project, title, authors, date,
    in that order, from handin: and book: author: of _quarto.yml."""
    from mlp_lab.cache import PROJECT_ROOT

    show = (PROJECT_ROOT / "book" / "report" / "typst-show.typ").read_text()
    for key in ("$handin.course$", "$handin.project$", "$for(book.author)$",
                "$title$", "$date$"):
        assert key in show, key
    template = (PROJECT_ROOT / "book" / "report" / "typst-template.typ").read_text()
    block = template[template.index("align(center"):]  # the title block
    order = [block.index(k) for k in ("line.join", "title)", "authors.join",
                                      "#date")]
    assert order == sorted(order)


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
