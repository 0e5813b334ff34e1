"""No render prints the rendering machine's folders: places are shown relative
to the project or to ~, else by their last name (mlp_lab.book.places)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import records
from mlp_lab.book import datatext, fmt, places, report, tables
from mlp_lab.cache import PROJECT_ROOT
from mlp_lab.config import Config


@pytest.fixture
def layout(tmp_path):
    """A home folder with a project in it, and a folder outside both."""
    home = tmp_path / "home" / "student"
    root = home / "work" / "mlp_lab"
    (root / "data" / "cifar10-jpg").mkdir(parents=True)
    (home / "datasets" / "cifar").mkdir(parents=True)
    (tmp_path / "srv" / "cifar10-jpg").mkdir(parents=True)
    return tmp_path, home, root


@pytest.mark.parametrize("where, shown", [
    ("{root}/data/cifar10-jpg", "data/cifar10-jpg"),
    ("{root}", "."),
    ("{home}/datasets/cifar", "~/datasets/cifar"),
    ("{home}", "~"),
    ("{tmp}/srv/cifar10-jpg", "\N{HORIZONTAL ELLIPSIS}/cifar10-jpg"),
    ("{root}/../mlp_lab/data/cifar10-jpg", "data/cifar10-jpg"),
    ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
     "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    ("configs/airplane-bird-32.toml", "configs/airplane-bird-32.toml"),
    ("defaults", "defaults"),
])
def test_a_place_is_shown_relative_to_the_project_or_home(layout, where, shown):
    tmp, home, root = layout
    location = where.format(tmp=tmp, home=home, root=root)
    assert places.shown_place(location, root=root, home=home) == shown


def test_a_home_at_the_filesystem_root_does_not_claim_every_path(layout):
    tmp, _, root = layout
    shown = places.shown_place(str(tmp / "srv" / "cifar10-jpg"), root=root,
                               home=Path("/"))
    assert shown == "\N{HORIZONTAL ELLIPSIS}/cifar10-jpg"


def _machine_folders(text: str, *paths: Path) -> list[str]:
    return [str(p) for p in paths if str(p) in text]


def test_reproducibility_record_prints_no_absolute_path(tmp_path, monkeypatch):
    """The sentence, the appendix's table and its config listing, for data and
    a config outside the project (as the course's shared folder is)."""
    data, config = tmp_path / "shared" / "cifar10-jpg", tmp_path / "my.toml"
    res = records.results([records.setting()], cfg=Config(data_dir=str(data)))
    res = dataclasses.replace(res, data=dataclasses.replace(
        res.data, location=str(data)))
    monkeypatch.setenv("MLP_LAB_CONFIG", str(config))
    source = report.config_source()
    assert source == "\N{HORIZONTAL ELLIPSIS}/my.toml"
    printed = " ".join([
        datatext.reproducibility_sentence(res, source),
        tables.environment_table(res, "1.10.17", source).to_string(),
        fmt.config_toml(res.config).data])
    assert not _machine_folders(printed, data, config, tmp_path)
    assert "\N{HORIZONTAL ELLIPSIS}/cifar10-jpg" in printed
    assert (f"{fmt.count(res.data.n_files)} JPEG files; fingerprint of their "
            f"contents {res.data.fingerprint}") in printed


def test_a_config_inside_the_project_is_shown_relative_to_it(monkeypatch):
    config = PROJECT_ROOT / "configs" / "airplane-bird-32.toml"
    monkeypatch.setenv("MLP_LAB_CONFIG", str(config))
    assert report.config_source() == "configs/airplane-bird-32.toml"
    monkeypatch.delenv("MLP_LAB_CONFIG")
    assert report.config_source() == "defaults"
