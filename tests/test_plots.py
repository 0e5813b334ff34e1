"""Tests of mlp_lab.book.plots on hand-made results records (no torch)."""

import dataclasses
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import records  # noqa: E402
from mlp_lab.book import plots  # noqa: E402

LOSSES = [[0.69, 0.60, 0.52], [0.69, 0.65, 0.61], [0.70, 0.55, 0.41], [0.7, math.nan]]
ACC = [(0.80, 0.75), (0.70, 0.68), (0.90, 0.82), (0.50, 0.50)]


def _setting(i, diff_params=0.0, diverged=False):
    s = records.setting(lr=[0.01, 0.01, 0.05, 0.5][i], momentum=0.85,
                        weight_decay=0.01 * (i % 2), train_acc=ACC[i][0],
                        val_acc=ACC[i][1], losses=LOSSES[i], diverged=diverged)
    s.max_abs_diff_loss = math.nan if diverged else 0.0
    s.max_abs_diff_params = diff_params
    # measured on the manual model: equal where the trainers agree exactly
    s.train_acc_manual = s.train_acc - (0.01 if diff_params else 0.0)
    s.val_acc_manual = s.val_acc - (0.02 if diff_params else 0.0)
    return s


def _results(best=True):
    settings = [_setting(0), _setting(1), _setting(2, diff_params=1e-3),
                _setting(3, diff_params=math.nan, diverged=True)]
    return records.results(settings, confusion=((83, 17), (21, 79)), test_acc=0.81,
                           best=2 if best else None, size=4, n=3)


@pytest.fixture
def results():
    return _results()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _bars(ax, label):
    """Heights of the bar container whose label is ``label``."""
    (c,) = [c for c in ax.containers if c.get_label() == label]
    return [b.get_height() for b in c]


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_sample_grid_shows_raw_images_per_class(results):
    d = results.data
    fig = plots.sample_grid(d.samples, d.class_names)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()] == ["car", "cat"]
    # row "cat", second column: that class's second sample, scaled to [0, 1]
    shown = fig.axes[4].images[0].get_array()
    want = np.asarray(d.samples[1][1]).transpose(1, 2, 0) / 255
    np.testing.assert_allclose(shown, want)


def test_normalized_grid_same_samples_rescaled(results):
    d = results.data
    fig = plots.normalized_grid(d)
    shown = fig.axes[4].images[0].get_array()
    x = np.asarray(d.samples[1][1], dtype=float) / 255
    x = (x - np.reshape(d.mean, (3, 1, 1))) / np.reshape(d.std, (3, 1, 1))
    x = x.transpose(1, 2, 0)
    np.testing.assert_allclose(shown, (x - x.min()) / (x.max() - x.min()))


@pytest.mark.parametrize("name", ["sample_grid", "normalized_grid", "accuracy_bars",
                                  "final_loss_bars", "loss_curves_grid",
                                  "all_loss_curves", "best_model_accuracies",
                                  "confusion_matrix_plot"])
def test_figures_have_no_title_that_would_repeat_the_caption(name, results):
    """The book and the report caption every figure ("Figure 1's title
    restates its caption"); panel titles of a grid name its panels."""
    fig = FIGURES[name](results)
    assert fig._suptitle is None
    if name != "loss_curves_grid":
        assert all(ax.get_title() == "" for ax in fig.axes)


def test_accuracy_bars(results):
    fig = plots.accuracy_bars(results)
    (ax,) = fig.axes
    sgd, man = plots.TRAINER_LABELS
    np.testing.assert_allclose(_bars(ax, f"train, {sgd}"), [80, 70, 90, 50])
    np.testing.assert_allclose(_bars(ax, f"val, {sgd}"), [75, 68, 82, 50])
    # the manual bars are the manual model's own, measured accuracies
    np.testing.assert_allclose(_bars(ax, f"val, {man}"), [75, 68, 80, 48])
    np.testing.assert_allclose(_bars(ax, f"train, {man}"), [80, 70, 89, 49])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(sgd in t for t in legend) and any(man in t for t in legend)
    assert ax.get_ylim()[0] > 0 and ax.get_ylabel()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0].startswith("Model 1") and "diverged" in ticks[3]
    assert "diverged" not in ticks[2]


PERCENT_FIGURES = ("accuracy_bars", "best_model_accuracies")


@pytest.mark.parametrize("name", PERCENT_FIGURES)
@pytest.mark.parametrize("acc", [1.0, 0.995, 0.62])
def test_percent_axes_stay_within_0_and_100(name, acc):
    """Accuracy cannot exceed 100 %, so no accuracy axis may run past it, even
    when a model is perfect (the first render's axis ran to 102.5 %)."""
    r = _results()
    for s in r.settings:
        s.train_acc, s.val_acc = acc, acc - 0.005
    r.best = dataclasses.replace(r.best, train_acc=acc, val_acc=acc - 0.005,
                                 test_acc=acc - 0.01)
    fig = getattr(plots, name)(r)
    fig.draw_without_rendering()
    (ax,) = fig.axes
    lo, hi = ax.get_ylim()
    assert 0 <= lo < hi <= 100, (lo, hi)
    assert all(0 <= t <= 100 for t in ax.get_yticks() if lo <= t <= hi)


def test_percent_limits_zoom_but_keep_room_below_the_bars():
    assert plots.percent_limits([88.0, 91.0]) == pytest.approx((86.2, 91.75))
    assert plots.percent_limits([99.0, 100.0]) == (97.8, 100.0)
    assert plots.percent_limits([0.0, 100.0]) == (0.0, 100.0)
    assert plots.percent_limits([]) == (0.0, 100.0)


def test_final_loss_bars(results):
    fig = plots.final_loss_bars(results)
    (ax,) = fig.axes
    for trainer in plots.TRAINER_LABELS:
        np.testing.assert_allclose(_bars(ax, trainer), [0.52, 0.61, 0.41, 0])
    assert "0.4100" in _texts(fig) and "n/a" in _texts(fig)
    assert "diverged" in ax.get_xticklabels()[3].get_text()
    assert ax.get_ylabel()


def test_loss_curves_grid(results):
    fig = plots.loss_curves_grid(results)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(results.settings)
    for ax, s in zip(panels, results.settings):
        sgd, man = ax.lines
        finite = [v for v in s.train_loss_sgd if math.isfinite(v)]
        np.testing.assert_allclose(sgd.get_ydata(), finite)
        np.testing.assert_allclose(man.get_ydata(), finite)
        assert sgd.get_linestyle() != man.get_linestyle()
    assert "diverged" in [t.get_text() for t in panels[3].texts]
    assert panels[0].get_ylabel() and panels[-1].get_xlabel() == "epoch"
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names == list(plots.TRAINER_LABELS)


@pytest.mark.parametrize("log", [False, True])
def test_all_loss_curves(results, log):
    fig = plots.all_loss_curves(results, log=log)
    (ax,) = fig.axes
    assert len(ax.lines) == len(results.settings)
    np.testing.assert_allclose(ax.lines[2].get_ydata(), LOSSES[2])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    # named only: the results table holds the settings, and one row fits
    assert labels == ["Model 1", "Model 2", "Model 3", "Model 4 (diverged)"]
    assert ax.get_yscale() == ("log" if log else "linear")
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel()


def test_best_model_accuracies(results):
    (ax,) = plots.best_model_accuracies(results).axes
    heights = [b.get_height() for b in ax.containers[0]]
    np.testing.assert_allclose(heights, [90, 82, 81])
    assert "Model 3" in ax.get_xlabel() and ax.get_ylabel()


def test_confusion_matrix_plot(results):
    fig = plots.confusion_matrix_plot(results)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["83\n(83.0%)", "17\n(17.0%)", "21\n(21.0%)", "79\n(79.0%)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["car", "cat"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"


def test_confusion_matrix_plot_puts_true_classes_on_rows():
    """Row 0 (top, labelled car) holds the true cars: 190 right and 10 taken
    for cat, 5 % of that row; the cats' row 30 of 100 taken for car."""
    res = records.results(confusion=((190, 10), (30, 70)))
    ax = plots.confusion_matrix_plot(res).axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}  # (row y, column x) -> text
    assert cells == {(0, 0): "190\n(95.0%)", (0, 1): "10\n(5.0%)",
                     (1, 0): "30\n(30.0%)", (1, 1): "70\n(70.0%)"}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["car", "cat"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["car", "cat"]
    (image,) = ax.images
    np.testing.assert_allclose(image.get_array(), [[95, 5], [30, 70]])
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # row 0 drawn at the top


@pytest.mark.parametrize("fn", [plots.best_model_accuracies,
                                plots.confusion_matrix_plot])
def test_no_converged_model(fn):
    fig = fn(_results(best=False))
    assert any("No model converged" in t for t in _texts(fig))


FIGURES = {
    "sample_grid": lambda r: plots.sample_grid(r.data.samples, r.data.class_names),
    "normalized_grid": lambda r: plots.normalized_grid(r.data),
    **{name: getattr(plots, name)
       for name in ("accuracy_bars", "final_loss_bars", "loss_curves_grid",
                    "all_loss_curves", "best_model_accuracies",
                    "confusion_matrix_plot")},
}


@pytest.mark.parametrize("name", FIGURES)
def test_saves_png_and_pdf_without_global_state(name, results, tmp_path):
    rc = dict(matplotlib.rcParams)
    fig = FIGURES[name](results)
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches())[0] == plots.FIGSIZE[0] or name.startswith(
        "confusion")
    for ext in ("png", "pdf"):
        fig.savefig(tmp_path / f"{name}.{ext}", dpi=50)
        assert (tmp_path / f"{name}.{ext}").stat().st_size > 1000
    assert plt.get_fignums() == []  # never registered with pyplot
    assert dict(matplotlib.rcParams) == rc  # the style did not leak


def test_all_diverged_does_not_crash():
    r = _results(best=False)
    for s in r.settings:
        s.diverged, s.train_loss_sgd, s.train_loss_manual = True, [], []
        s.train_acc, s.val_acc = math.nan, math.nan
    for name in list(FIGURES)[2:]:
        FIGURES[name](r).draw_without_rendering()  # layout and draw
