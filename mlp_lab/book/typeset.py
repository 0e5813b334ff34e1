"""The report's PDF approximated without Quarto: pandoc 3.9 and Typst 0.15.

Quarto cannot be installed here, yet some faults show only in the PDF: a
page left half empty, a header broken mid-word, a page too many. This module
typesets an executed document (:func:`mlp_lab.book.bookcheck.execute`) the
way Quarto 1.10's Typst article does, as far as layout goes: the inline
values in place; each labelled cell output as a Typst figure of kind
``quarto-float-fig`` or ``quarto-float-tbl`` (table captions on top), as
Quarto's Lua filters write them; tables with automatic column widths
(``tbl-colwidths: false``); cross-references as Typst references; the
``include-in-header`` files of the document's format; and a preamble with the
settings of Quarto's article template that decide where lines and pages
break (A4, the document's margins, 11 pt Libertinus Serif, justified
paragraphs with 0.65 em leading, numbered sections, table cells inset 6 pt,
no rules). Quarto's own template and filters are not run, so page breaks may
differ by a few lines from a real render (:mod:`mlp_lab.book.pages` measures
the result).
"""

from __future__ import annotations

import base64
import datetime
import re
from pathlib import Path

import nbformat
import yaml

from . import bookcheck
from .pages import HEADER_PROBE

# What Quarto would escape in an inline value's text (it shows values as text).
_ESCAPE = re.compile(r"([\\`*_\[\]<>#@$~^|])")
_EQ_LABEL = re.compile(r"(\$\$)[ \t]*\{#(eq-[\w-]*\w)\}")
_RAW = re.compile(r"```\{=typst\}\n(.*?)\n```", re.DOTALL)
# A float written as a div: ::: {#tbl-x} content, caption (last paragraph) :::
_DIV_FLOAT = re.compile(
    r"^:::+[ \t]*\{#((?:fig|tbl)-[\w-]*\w)\}[ \t]*\n(.*?)^:::+[ \t]*$",
    re.DOTALL | re.MULTILINE)

PREAMBLE = """\
#set page(paper: "{paper}", margin: (x: {mx}, y: {my}), numbering: "1")
#set par(justify: true, leading: 0.65em)
#set text(lang: "en", region: "US", size: 11pt, font: "Libertinus Serif")
#set heading(numbering: "1.1.a")
#set math.equation(numbering: "(1)")
#set table(inset: 6pt, stroke: none)
#show figure.where(kind: "quarto-float-tbl"): set figure.caption(position: top)
"""
TITLE = """\
#align(center, block(inset: 2em)[
  #text(weight: "bold", size: 1.5em)[{title}]{subtitle}
])
#align(center, block(inset: 1em)[{date}])
"""


def escape(text: str) -> str:
    """An inline value as Markdown text that reads as the value."""
    return _ESCAPE.sub(r"\\\1", text)


def with_values(markdown: str, values: list[str]) -> str:
    """``markdown`` with its inline expressions replaced, in order, by ``values``."""
    shown = iter(values)

    def value(m: re.Match) -> str:
        lead = m.group(0)[:m.group(0).index("`{python}")]  # the char before
        return lead + escape(next(shown))
    return bookcheck.INLINE.sub(value, markdown)


def references(markdown: str) -> str:
    """Quarto's cross-references as Typst references, and equation labels
    as Typst labels after the equation (raw Typst: pandoc would cite them)."""
    text = bookcheck.REF.sub(lambda m: f"`#ref(<{m.group(1)}>)`{{=typst}}",
                             markdown)
    return _EQ_LABEL.sub(lambda m: f"$$ `<{m.group(2)}>`{{=typst}}", text)


def to_typst(markdown: str) -> str:
    """Pandoc's Typst for ``markdown``; tables get automatic column widths
    (long pipe-table lines would otherwise give relative widths)."""
    import pypandoc

    return pypandoc.convert_text(markdown, "typst", format="markdown",
                                 extra_args=["--columns=10000"])


def _raw(typst: str) -> str:
    return f"\n```{{=typst}}\n{typst}\n```\n"


def float_block(label: str, caption: str, content: str) -> str:
    """A Quarto float in Typst: ``content`` (Typst) in a figure of Quarto's
    kind for the label's type, the caption (Markdown) converted inline."""
    kind, supplement = (("quarto-float-tbl", "Table") if label.startswith("tbl-")
                        else ("quarto-float-fig", "Figure"))
    position = "top" if kind.endswith("tbl") else "bottom"
    cap = to_typst(references(caption)).strip()
    return _raw(f"#figure([\n{content}\n], caption: figure.caption(position: "
                f"{position}, [{cap}]), kind: \"{kind}\", supplement: "
                f"\"{supplement}\", numbering: \"1\")<{label}>")


def cell_output(cell: nbformat.NotebookNode, options: dict, figures: Path) -> str:
    """The Markdown (raw Typst for floats) that an executed cell contributes."""
    label = str(options.get("label") or "")
    parts = []
    for k, out in enumerate(cell.get("outputs", [])):
        data = out.get("data", {})
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif "image/png" in data:
            path = figures / f"{label or 'figure'}-{k}.png"
            path.write_bytes(base64.b64decode(data["image/png"]))
            parts.append(_raw(f'#box(image("{path.name}"))'))
        elif "text/markdown" in data:
            parts.append(_raw(to_typst(data["text/markdown"])))
    body = "\n".join(parts)
    if label.startswith(("fig-", "tbl-")):
        content = "\n".join(_RAW.findall(body))
        return float_block(label, str(options.get(f"{label[:3]}-cap", "")),
                           content)
    return body


def document_markdown(nb: nbformat.NotebookNode, run: nbformat.NotebookNode,
                      figures: Path) -> tuple[dict, str]:
    """(front matter, body) of an executed document as Quarto would typeset
    it: ``nb`` as read (:func:`bookcheck.read_chapter`), ``run`` as executed
    (:func:`bookcheck.execute`), figures written into ``figures``."""
    ran = iter(run.cells[1:])  # after bookcheck's figure setup cell
    front, body = {}, []
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.startswith("---"):
            front = yaml.safe_load(cell.source.strip("-\n")) or {}
        elif cell.cell_type == "markdown":
            next(ran)
            n = len(bookcheck.inline_expressions(cell.source))
            values = [bookcheck.shown_text("".join(
                o.get("data", {}).get("text/plain", "") for o in next(ran).outputs))
                for _ in range(n)]
            body.append(references(with_values(cell.source, values)))
        elif cell.cell_type == "code":
            options = bookcheck.cell_options(cell.source)
            if options.get("eval", True) is True:
                body.append(cell_output(next(ran), options, figures))
    return front, div_floats("\n\n".join(body))


def div_floats(markdown: str) -> str:
    """Quarto's floats written as divs (``::: {#tbl-x}``: the content, then
    the caption as the last paragraph) as Typst figures."""
    def one(m: re.Match) -> str:
        content = "\n".join(_RAW.findall(m.group(2)))
        caption = _RAW.sub("", m.group(2)).strip()
        return float_block(m.group(1), caption, content)
    return _DIV_FLOAT.sub(one, markdown)


def typst_document(front: dict, body: str, header: str = "") -> str:
    """The whole Typst source: preamble, header includes, title block, body."""
    fmt = (front.get("format") or {}).get("typst") or {}
    margin = fmt.get("margin") or {}
    date = front.get("date")
    if date == "today":
        date = datetime.date.today().isoformat()
    pre = PREAMBLE.format(paper=fmt.get("papersize", "a4"),
                          mx=margin.get("x", "1.25in"), my=margin.get("y", "1.25in"))
    text = {k: to_typst(escape(str(front.get(k) or ""))).strip()
            for k in ("title", "subtitle")}
    if text["subtitle"]:
        text["subtitle"] = ("\n  #parbreak()\n  #text(weight: \"bold\", size: "
                            f"1.25em)[{text['subtitle']}]")
    title = TITLE.format(date=to_typst(escape(str(date or ""))).strip(), **text)
    return pre + header + "\n" + title + "\n" + to_typst(body)


def header_includes(root: Path, front: dict) -> str:
    """The text of the ``include-in-header`` files of the document's Typst
    format, else of the project's (``_quarto.yml``), as Quarto merges them."""
    project = yaml.safe_load((Path(root) / "_quarto.yml").read_text(encoding="utf-8"))
    for meta in ((front.get("format") or {}).get("typst") or {},
                 (project.get("format") or {}).get("typst") or {}):
        files = meta.get("include-in-header")
        if files:
            files = [files] if isinstance(files, str) else files
            return "\n".join((Path(root) / f).read_text(encoding="utf-8")
                             for f in files)
    return ""


def typeset(doc: Path, out: Path, env: dict | None = None,
            root: Path | None = None, profile: str | None = None
            ) -> tuple[Path, dict]:
    """Execute ``doc`` (a .qmd of the project at ``root``, as rendered with
    ``profile``) in a fresh kernel with ``env`` and write its Typst source,
    with its figures, into ``out``. Returns the .typ file and the document's
    front matter. A twin ``<stem>-probe.typ`` holds the same document with
    :data:`~.pages.HEADER_PROBE` after the header, for
    :func:`~.pages.header_cells`; ``<stem>.md`` holds its body as Markdown
    with the values in place (what :func:`prose` reads)."""
    root = Path(root or bookcheck.project_root(doc))
    out.mkdir(parents=True, exist_ok=True)
    nb = bookcheck.read_chapter(Path(doc), profile)
    run = bookcheck.execute(nb, root, env, name=str(doc))
    front, body = document_markdown(nb, run, out)
    source = out / (Path(doc).stem + ".typ")
    header = header_includes(root, front)
    source.write_text(typst_document(front, body, header), encoding="utf-8")
    source.with_name(source.stem + "-probe.typ").write_text(
        typst_document(front, body, header + HEADER_PROBE), encoding="utf-8")
    source.with_suffix(".md").write_text(body, encoding="utf-8")
    return source, front


def prose(markdown: str) -> str:
    """The running text of a typeset body (``<stem>.md``) as plain text, one
    paragraph a line: tables, figures, raw Typst and display math left out,
    inline math as pandoc writes it in plain text."""
    import pypandoc

    text = re.sub(r"\$\$.*?\$\$", " ", markdown, flags=re.DOTALL)
    return pypandoc.convert_text(text, "plain", format="markdown",
                                 extra_args=["--wrap=none", "--quiet"])
