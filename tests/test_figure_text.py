"""Every figure of mlp_lab.book.plots, drawn at the size the book uses, on the
default config, the variant (airplane vs bird, 4 settings) and a record with a
diverged setting: no two visible texts overlap, no text leaves the figure, no
text is too small to read on paper, and no legend covers an axes' data.

Extents are matplotlib's own (``Text.get_window_extent`` after a full draw),
in display pixels of the figure's dpi; the figures are drawn at their own size
(``plots.FIGSIZE``), which the book scales to its text width.
"""

from __future__ import annotations

import inspect
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.axis import Tick  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

import records  # noqa: E402
import test_plots  # noqa: E402
from mlp_lab.book import plots  # noqa: E402
from mlp_lab.config import Config, load_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLACK = 0.5  # pixels: extents that merely touch do not overlap
# Printed, the figure is scaled from FIGSIZE[0] to the PDF's text width (A4 less
# 2 x 2.2 cm: 6.5 in); 6.5 pt there is about the least a printed figure
# may use, so no text may be smaller.
PRINT_WIDTH_IN = (21.0 - 2 * 2.2) / 2.54
MIN_PRINTED_PT = 6.5

FIGURES = {**test_plots.FIGURES,  # every figure function of plots, and:
           "all_loss_curves_log": lambda r: plots.all_loss_curves(r, log=True)}
RECORDS = {
    "default": lambda: records.of_config(Config()),
    "variant": lambda: records.of_config(
        load_config(ROOT / "configs" / "airplane-bird-32.toml")),
    "diverged": lambda: records.of_config(Config(), diverge=4),
}


def _in_view(tick: Tick, axis) -> bool:
    lo, hi = sorted(axis.get_view_interval())
    eps = 1e-9 * max(abs(hi - lo), 1e-300)
    return lo - eps <= tick.get_loc() <= hi + eps


def visible_texts(fig) -> list[Text]:
    """The texts a reader sees: non-empty, visible up the artist tree, tick
    labels only for ticks inside the view (matplotlib draws no others)."""
    found = []

    def walk(artist, axis=None):
        if not artist.get_visible():
            return
        if isinstance(artist, Tick) and not _in_view(artist, axis):
            return
        if isinstance(artist, Text) and artist.get_text().strip():
            found.append(artist)
        is_axis = isinstance(artist, matplotlib.axis.Axis)
        for child in artist.get_children():
            walk(child, artist if is_axis else axis)
    walk(fig)
    return found


def _name(t: Text) -> str:
    return repr(t.get_text()[:40])


def text_problems(fig) -> list[str]:
    """What a reader would stumble over in ``fig``, one line each."""
    canvas = FigureCanvasAgg(fig)  # the figures are made without a canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = visible_texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    problems = []
    for (a, ba), (b, bb) in itertools.combinations(zip(texts, boxes), 2):
        if ba.padded(-SLACK).overlaps(bb.padded(-SLACK)):
            problems.append(f"{_name(a)} overlaps {_name(b)}")
    page = fig.bbox.padded(SLACK)
    for t, box in zip(texts, boxes):
        if not (page.contains(box.x0, box.y0) and page.contains(box.x1, box.y1)):
            problems.append(f"{_name(t)} leaves the figure")
    scale = PRINT_WIDTH_IN / fig.get_figwidth()
    for t in texts:
        if t.get_fontsize() * min(scale, 1) < MIN_PRINTED_PT:
            problems.append(f"{_name(t)} is {t.get_fontsize():g} pt, too small "
                            "in print")
    legends = [a for a in fig.findobj(Legend) if a.get_visible()]
    for leg, ax in itertools.product(legends, fig.axes):
        if ax.get_visible() and ax.has_data() and Bbox.intersection(
                leg.get_window_extent(renderer).padded(-SLACK),
                ax.get_window_extent(renderer)) is not None:
            problems.append(f"a legend covers the data of {ax.get_title()!r}")
    return problems


@pytest.mark.parametrize("record", RECORDS)
@pytest.mark.parametrize("name", FIGURES)
def test_figure_text_is_legible(name, record):
    fig = FIGURES[name](RECORDS[record]())
    assert fig.get_figwidth() <= plots.FIGSIZE[0]
    assert text_problems(fig) == []


def test_every_figure_of_plots_is_checked():
    """A figure function added to plots joins FIGURES, or this fails."""
    made = {name for name, fn in vars(plots).items()
            if inspect.isfunction(fn) and fn.__module__ == plots.__name__
            and not name.startswith("_")
            and inspect.signature(fn).return_annotation in ("Figure", Figure)}
    assert made and made <= set(FIGURES), made - set(FIGURES)


def test_the_check_sees_overlap_and_overflow():
    """The check itself: two titles on top of each other, a label off the page,
    a tiny note and a legend over the data are all reported."""
    fig = plots._figure(1, 2)[0]
    left, right = fig.axes
    left.plot([1, 2], [1, 2], label="a line")
    left.set_title("a long title that runs into its neighbour " * 2)
    right.set_title("the neighbour")
    right.text(1.5, 0.5, "off the page", transform=right.transAxes)
    right.text(0.5, 0.5, "tiny", fontsize=4)
    left.legend(loc="center")
    problems = text_problems(fig)
    assert any("overlaps 'the neighbour'" in p for p in problems), problems
    assert any("'off the page' leaves" in p for p in problems), problems
    assert any("'tiny' is 4 pt" in p for p in problems), problems
    assert any("a legend covers" in p for p in problems), problems
