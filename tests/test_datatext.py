"""book.datatext: what the text says about the images and about what a
render was computed from, read off the record (no torch)."""

from __future__ import annotations

import dataclasses

import pytest

import records
from mlp_lab.book import datatext as D
from mlp_lab.config import Config, load_config
from mlp_lab.cache import PROJECT_ROOT


def _with(res, **data):
    return dataclasses.replace(res, data=dataclasses.replace(res.data, **data))


@pytest.fixture
def res():
    return records.results(counts={"train": [4497, 4503], "val": [503, 497],
                                   "test": [1000, 1000]})


def test_a_jpeg_copy_is_called_lossy_plainly(res):
    res = _with(res, n_files=12000)
    assert D.is_jpeg(res.data)
    assert D.data_sentence(res) == (
        "The images are a lossy JPEG copy of CIFAR-10 (12,000 JPEG files), so every "
        "number here may differ a little from one computed on the canonical "
        "files. The splits hold 9,000 training, 1,000 validation and 2,000 test "
        "images.")
    assert "lossy JPEG re-encoding" in D.provenance_note(res)


def test_a_lossless_copy_and_the_canonical_download(res):
    png = _with(res, file_types=[".png"])
    assert not D.is_jpeg(png.data)
    assert D.data_sentence(png).startswith(
        "The images are a local copy of CIFAR-10 (1,200 PNG files), not the "
        "canonical download.")
    canonical = _with(res, source="torchvision-cifar10", file_types=[],
                      location="https://www.cs.toronto.edu/~kriz/"
                               "cifar-10-python.tar.gz")
    assert D.data_sentence(canonical).startswith(
        "The images are the canonical CIFAR-10 files, as torchvision downloads them.")
    assert "lossy" not in D.data_sentence(canonical) + D.provenance_note(canonical)
    assert D.reproducibility_sentence(canonical, "defaults").startswith(
        "Every number here was computed from the canonical CIFAR-10 files, "
        "downloaded by torchvision from https://www.cs.toronto.edu/")


def test_class_names_are_given_once_and_aliases_only_where_they_differ():
    assert D.classes_phrase(Config()) == (
        "automobile (called car here, label 0) and cat (label 1)")
    variant = load_config(PROJECT_ROOT / "configs" / "airplane-bird-32.toml")
    assert D.classes_phrase(variant) == "airplane (label 0) and bird (label 1)"


@pytest.mark.parametrize("counts, verdict", [
    ([450, 450], "the classes are balanced, so accuracy is a fair summary"),
    ([600, 300], "the classes are imbalanced: read accuracy together with the "
                 "confusion matrix")])
def test_balance_sentence(counts, verdict):
    res = records.results(counts={"train": counts, "val": [1, 1], "test": [1, 1]})
    assert D.balance_sentence(res) == (
        f"The training split holds {counts[0]} car and {counts[1]} cat images: "
        f"{verdict}.")


def test_normalization_values_are_the_training_split_s(res):
    assert D.normalization_values(res.data) == (
        "means 0.500, 0.400 and 0.300 and standard deviations 0.250, 0.200 and "
        "0.200 for red, green and blue, on pixel values scaled to [0, 1]")


def test_reproducibility_sentence_names_data_config_seeds_and_versions(res):
    text = D.reproducibility_sentence(res, "configs/x.toml")
    assert res.data.location == "/data/cifar10-jpg"  # printed by its name only
    for part in ("a local ImageFolder copy of CIFAR-10 at \N{HORIZONTAL ELLIPSIS}"
                 "/cifar10-jpg (1,200 JPEG files; fingerprint of their contents "
                 "abcd)", "the configuration of configs/x.toml (car vs cat, "
                 "16\u00d716)", "split seed 42 and model seed 265",
                 "in float64 on a CPU (AMD EPYC, 2 cores)",
                 "Python 3.11.7, PyTorch 2.14.1 and torchvision 0.29.1"):
        assert part in text, part
    assert "the default configuration" in D.reproducibility_sentence(res, "defaults")
    short = D.reproducibility_sentence(res, "defaults", full=False)  # the report's
    assert short == (
        "Every number here was computed from a local copy of CIFAR-10 (1,200 JPEG "
        "files), with the default configuration (car vs cat, 16\u00d716), split "
        "seed 42 and model seed 265, in float64, with PyTorch 2.14.1 and "
        "torchvision 0.29.1. The notebooks and this report come from one source, "
        "the mlp_lab project.")
