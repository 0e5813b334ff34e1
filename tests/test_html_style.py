"""The HTML book's style sheet (book/style.css), measured in a real browser.

Display equations: Quarto (html-math-method: mathml) writes a numbered
equation as ``<span id="eq-…"><math display="block">…</math></span>`` inside
its paragraph, the number appended to the formula after ``\\qquad``. The page
here is made the same way from the book's own equations (pandoc 3.9 writes
the MathML, as in the real render) and measured in headless Chromium, with
and without the book's style sheet; skipped where either is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from mlp_lab.cache import PROJECT_ROOT

CSS = PROJECT_ROOT / "book" / "style.css"
EQUATIONS = PROJECT_ROOT / "book" / "parts" / "_backprop-equations.qmd"
LABELLED = re.compile(r"\$\$\n(.*?)\n\$\$ \{#(eq-[\w-]+)\}", re.DOTALL)

MEASURE = """<script>
window.addEventListener("load", () => {
  const rows = [];
  for (const span of document.querySelectorAll('span[id^="eq-"]')) {
    const math = span.querySelector("math").getBoundingClientRect();
    const p = span.closest("p"), r = document.createRange();
    r.setStart(p, 0); r.setEndBefore(span);
    const above = Math.max(...[...r.getClientRects()].map(b => b.bottom));
    r.setStartAfter(span); r.setEnd(p, p.childNodes.length);
    const below = Math.min(...[...r.getClientRects()].map(b => b.top));
    const kids = span.querySelector("semantics > mrow").children;
    const n = kids.length;  // ..., last term, mspace, "(", number, ")"
    rows.push({id: span.id, above: math.top - above, below: below - math.bottom,
               number_gap: kids[n - 3].getBoundingClientRect().left
                           - kids[n - 5].getBoundingClientRect().right});
  }
  const em = parseFloat(getComputedStyle(document.body).fontSize);
  const page = document.documentElement.scrollWidth, view = window.innerWidth;
  document.body.dataset.measure = JSON.stringify({em, rows, page, view});
});
</script>"""


def quarto_like_page(css: str, width: int = 700) -> str:
    """The equations partial as Quarto's HTML shows it (numbers 2.1, 2.2, ...)."""
    pypandoc = pytest.importorskip("pypandoc")
    labels = []

    def number(m: re.Match) -> str:
        labels.append(m.group(2))
        return f"$${m.group(1)} \\qquad({2}.{len(labels)})$$"

    markdown = LABELLED.sub(number, EQUATIONS.read_text(encoding="utf-8"))
    html = pypandoc.convert_text(markdown, "html", format="markdown",
                                 extra_args=["--mathml"])
    blocks = iter(labels)
    html = re.sub(r'<math display="block".*?</math>',
                  lambda m: f'<span id="{next(blocks)}">{m.group(0)}</span>',
                  html, flags=re.DOTALL)
    assert next(blocks, None) is None and labels, labels
    return (f"<!doctype html><html><head><meta charset='utf-8'><style>{css}"
            f"</style></head><body style='width:{width}px;font-size:16px'>{html}"
            f"{MEASURE}</body></html>")


def measure(tmp_path, css: str, width: int = 700, window: int = 1000) -> dict:
    """Gaps (px) above and below each numbered equation and before its number,
    and the page's scroll width against the window's, for a text ``width``
    in a ``window`` that wide (headless Chromium's narrowest is 500 px)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium: apt-get install chromium to measure the page")
    page = tmp_path / f"page{len(list(tmp_path.iterdir()))}.html"
    page.write_text(quarto_like_page(css, width), encoding="utf-8")
    out = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--window-size={window},900",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=300)
    found = re.search(r'data-measure="([^"]*)"', out.stdout)
    assert found, out.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_display_equations_get_the_spacing_of_the_pdf(tmp_path):
    """At least half a line above and below each display equation and two
    em-quads (4em) between a formula and its number; without the style sheet
    each gap is narrower, so the measurement tells the two apart."""
    styled = measure(tmp_path, CSS.read_text(encoding="utf-8"))
    plain = measure(tmp_path, "")
    em = styled["em"]
    for row, bare in zip(styled["rows"], plain["rows"]):
        assert row["above"] >= 0.5 * em and row["below"] >= 0.5 * em, row
        assert row["number_gap"] >= 3.9 * em, row
        assert row["above"] > bare["above"] and row["below"] > bare["below"]
        assert row["number_gap"] > bare["number_gap"], (row, bare)
    assert len(styled["rows"]) == 3


def test_a_wide_equation_scrolls_by_itself_on_a_phone(tmp_path):
    """In a column narrower than the formulas (a phone), the page itself does
    not scroll sideways; without the style sheet it does."""
    bare = measure(tmp_path, "", width=300, window=500)
    assert bare["page"] > bare["view"], bare
    styled = measure(tmp_path, CSS.read_text(encoding="utf-8"), width=300,
                     window=500)
    assert styled["page"] <= styled["view"], styled


def test_style_sheet_rules_for_display_equations():
    css = CSS.read_text(encoding="utf-8")
    assert re.search(r'math\[display="block"\]\s*\{[^}]*margin-block', css)
    assert re.search(r'span\[id\^="eq-"\][^{]*mspace[^{]*\{[^}]*width', css)
