"""The canonical path, offline: torchvision's CIFAR10 downloads a synthetic
CIFAR-10 (``cifar_archive``) from an HTTP server on 127.0.0.1, checks its MD5,
extracts it, and the pipeline selects, resizes, splits and normalizes it; the
same images as PNG give the same prepared tensors; each fault gives one line
naming the fix and leaves nothing a later run would take as valid; nothing is
unpickled before its MD5 has passed.

torchvision's ``CIFAR10`` is pointed at the server by its class attributes
(``url``, ``tgz_md5``, the per-file MD5 lists), as a mirror would be. The
download goes into ``<project>/data`` of a project folder of the test's own.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10

from cifar_archive import (ARCHIVE, CLASSES, FOLDER, ArchiveServer, batch_files,
                           make_images, write_archive, write_png_tree)
from mlp_lab import cache
from mlp_lab.book.datatext import reproducibility_sentence
from mlp_lab.config import Config
from mlp_lab.data import DataError, load_data
from mlp_lab.results import Results

ROOT = Path(__file__).resolve().parent.parent
PAIR = ("automobile", "cat")  # the default config's classes


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The synthetic images (20 train, 10 test per class), their archive, the
    CIFAR10 attributes describing it and the same images as a PNG tree."""
    folder = tmp_path_factory.mktemp("synthetic")
    images = make_images(n_train=20, n_test=10)
    files = batch_files(images)
    attrs = write_archive(folder / ARCHIVE, files)
    return SimpleNamespace(images=images, files=files, attrs=attrs,
                           archive=(folder / ARCHIVE).read_bytes(),
                           tree=write_png_tree(folder / "png", images))


@pytest.fixture
def server(synthetic):
    """A server on 127.0.0.1 holding the good archive."""
    with ArchiveServer() as srv:
        srv.files[ARCHIVE] = synthetic.archive
        yield srv


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The project folder whose ``data/`` receives the download; no MLP_LAB_DATA."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setattr(cache, "PROJECT_ROOT", root)
    monkeypatch.delenv("MLP_LAB_DATA", raising=False)
    return root


@pytest.fixture
def point(monkeypatch, synthetic):
    """``point(url)``: CIFAR10 downloads from ``url`` and checks the archive's
    MD5 sums, as it does those of the real one."""
    def at(url: str) -> None:
        for name, value in {**synthetic.attrs, "url": url}.items():
            monkeypatch.setattr(CIFAR10, name, value)
    return at


def refused_url() -> str:
    """The address of a server that has just stopped: connection refused."""
    with ArchiveServer() as gone:
        url = gone.url(ARCHIVE)
    return url


def selected(images: np.ndarray, labels: list[int]) -> np.ndarray:
    """(N, 3, 32, 32) images of PAIR, class by class, in the archive's order."""
    keep = [i for c in PAIR for i, lab in enumerate(labels) if CLASSES[lab] == c]
    return images[keep].transpose(0, 3, 1, 2)


def fingerprint(images) -> str:
    """The canonical source's fingerprint: SHA-256 of the selected 32 x 32
    pixels, training then test images."""
    train = selected(images.train, images.train_labels)
    test = selected(images.test, images.test_labels)
    return hashlib.sha256(train.tobytes() + test.tobytes()).hexdigest()[:16]


def cache_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------ the whole path

SMALL = """
epochs = 2

[[settings]]
lr = 0.05
"""

CLI = """
import json, os, runpy, sys
from torchvision.datasets import CIFAR10
for name, value in json.loads(sys.argv[1]).items():  # the mirror: url and MD5s
    setattr(CIFAR10, name, value)
import mlp_lab
assert mlp_lab.__file__.startswith(os.getcwd()), mlp_lab.__file__  # the copy's
sys.argv = ["mlp_lab", *sys.argv[2:]]
runpy.run_module("mlp_lab", run_name="__main__", alter_sys=True)  # python -m mlp_lab
"""


def test_cli_downloads_checks_and_trains_with_no_mlp_lab_data(
        synthetic, server, tmp_path, python_run):
    """``python -m mlp_lab data`` and ``run`` in a copy of the project: the
    copy's ``data/`` receives the download, once; the provenance names it."""
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "mlp_lab", copy / "mlp_lab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "small.toml").write_text(SMALL)

    mirror = json.dumps({**synthetic.attrs, "url": server.url(ARCHIVE)})

    def mlp_lab(*args):
        return python_run(["-c", CLI, mirror, *args], cwd=copy,
                          env={"MLP_LAB_DATA": None, "MLP_LAB_CONFIG": None,
                               "OMP_NUM_THREADS": 1})

    data = mlp_lab("data")
    assert data.returncode == 0, data.stderr
    assert (f"source: torchvision-cifar10 ({server.url(ARCHIVE)}), 60 files, "
            f"fingerprint {fingerprint(synthetic.images)}") in data.stdout
    assert "train:     36 images" in data.stdout and "test:     20" in data.stdout
    batches = copy / "data" / FOLDER
    assert sorted(p.name for p in batches.iterdir()) == sorted(synthetic.files)
    assert (copy / "data" / ARCHIVE).read_bytes() == synthetic.archive
    downloaded = {p: p.stat().st_mtime_ns for p in (copy / "data").rglob("*")}

    out = tmp_path / "out.json"
    run = mlp_lab("run", "--config", "small.toml", "--json", out)
    assert run.returncode == 0, run.stderr
    assert "36 train / 4 val / 20 test images (torchvision-cifar10)" in run.stdout
    record = json.loads(out.read_text())
    assert record["data"]["source"] == "torchvision-cifar10"
    assert record["data"]["location"] == server.url(ARCHIVE)
    assert record["data"]["fingerprint"] == fingerprint(synthetic.images)
    assert record["env"]["device"] == "cpu"
    said = reproducibility_sentence(Results.from_dict(record), "small.toml")
    for shown in ("the canonical CIFAR-10 files, downloaded by torchvision",
                  server.url(ARCHIVE), fingerprint(synthetic.images)):
        assert shown in said, said  # what the report prints
    # the second process found the files checked, and neither fetched nor wrote
    assert {p: p.stat().st_mtime_ns for p in (copy / "data").rglob("*")} == downloaded


def test_the_pipeline_selects_by_name_splits_and_normalizes(synthetic, server,
                                                           project, point):
    point(server.url(ARCHIVE))
    cfg = Config(image_size=32, sizes=(3072, 8, 2))  # 32 x 32: no resize here
    data = load_data(cfg)
    train = selected(synthetic.images.train, synthetic.images.train_labels)
    test = selected(synthetic.images.test, synthetic.images.test_labels)
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(cfg.split_seed))
    n_train = round(40 * cfg.train_fraction)
    assert torch.equal(data.images["train"], torch.from_numpy(train)[perm[:n_train]])
    assert torch.equal(data.images["val"], torch.from_numpy(train)[perm[n_train:]])
    assert torch.equal(data.images["test"], torch.from_numpy(test))
    assert data.labels["test"].tolist() == [0] * 10 + [1] * 10
    x = data.images["train"].numpy().astype(np.float64) / 255
    assert np.allclose(data.mean.numpy(), x.mean(axis=(0, 2, 3)), rtol=0, atol=1e-12)
    assert np.allclose(data.std.numpy(), x.std(axis=(0, 2, 3), ddof=1), atol=1e-12)
    assert data.provenance["fingerprint"] == fingerprint(synthetic.images)
    assert (project / "data" / FOLDER / "batches.meta").is_file()


def test_the_archive_and_the_png_tree_give_the_same_prepared_tensors(
        synthetic, server, project, point):
    """The two readers mean one thing: same images (resized to 16 x 16),
    labels, mean and std, to the last bit."""
    point(server.url(ARCHIVE))
    canonical = load_data(Config())
    folder = load_data(Config(data_dir=str(synthetic.tree)))
    assert canonical.provenance["source"] == "torchvision-cifar10"
    assert folder.provenance["source"] == "imagefolder"
    for split in ("train", "val", "test"):
        assert canonical.images[split].shape[1:] == (3, 16, 16)
        assert torch.equal(canonical.images[split], folder.images[split])
        assert torch.equal(canonical.labels[split], folder.labels[split])
    assert torch.equal(canonical.mean, folder.mean)
    assert torch.equal(canonical.std, folder.std)


# ------------------------------------------------------------ faults

def corrupt(srv, synthetic):
    """Serve an archive with one byte changed: its MD5 differs."""
    bad = bytearray(synthetic.archive)
    bad[len(bad) // 2] ^= 0xFF
    srv.files[ARCHIVE] = bytes(bad)
    return f"{len(bad)} bytes, MD5 "


def cut_off(srv, synthetic):
    """The server closes the connection after half of the body."""
    srv.cut.add(ARCHIVE)
    return f"{len(synthetic.archive) // 2} bytes, MD5 "


@pytest.mark.parametrize("plant", [corrupt, cut_off], ids=["bad md5", "cut off"])
def test_a_damaged_download_is_deleted_and_the_next_run_succeeds(
        plant, synthetic, server, project, point, cache_dir):
    url = server.url(ARCHIVE)
    point(url)
    detail = plant(server, synthetic)
    with pytest.raises(DataError) as err:
        load_data(Config())
    message = str(err.value)
    assert "\n" not in message and "MLP_LAB_DATA" in message
    assert (f"archive downloaded from {url} is damaged or incomplete ({detail}"
            in message and "Fix: run again to download it afresh" in message)
    assert not (project / "data" / ARCHIVE).exists()
    assert not (project / "data" / FOLDER).exists()
    assert cache_entries(cache_dir) == []
    server.files[ARCHIVE], server.cut = synthetic.archive, set()
    assert load_data(Config()).provenance["fingerprint"] == fingerprint(
        synthetic.images)


def test_no_server_says_how_to_work_offline(project, point, cache_dir, server):
    url = refused_url()
    point(url)
    with pytest.raises(DataError) as err:
        load_data(Config())
    message = str(err.value)
    assert message.startswith(f"no data: CIFAR-10 cannot be downloaded from {url} (")
    assert "Connection refused" in message and "\n" not in message
    assert ("Fix: go online and run again, or work offline: set MLP_LAB_DATA to an "
            "ImageFolder tree ROOT/{train,test}/<class>/<image>") in message
    assert cache_entries(cache_dir) == [] and not (project / "data" / ARCHIVE).exists()
    point(server.url(ARCHIVE))
    assert load_data(Config()).sizes() == {"train": 36, "val": 4, "test": 20}


def test_a_missing_file_on_the_server_names_the_http_status(project, point, server,
                                                           cache_dir):
    url = server.url("moved.tar.gz")
    point(url)
    with pytest.raises(DataError, match=f"cannot be downloaded from {url} "
                       r"\(HTTP Error 404: .*\)\. Fix: go online"):
        load_data(Config())
    assert cache_entries(cache_dir) == [] and not (project / "data" / ARCHIVE).exists()


def test_an_unwritable_data_folder_names_it(project, point, server, cache_dir):
    """A file where ``data/`` should be (root ignores permissions, a file not)."""
    blocker = project / "data"
    blocker.write_text("not a folder")
    point(server.url(ARCHIVE))
    with pytest.raises(DataError) as err:
        load_data(Config())
    message = str(err.value)
    assert message.startswith(f"no data: cannot write the CIFAR-10 download into "
                              f"{blocker}: File exists")
    assert f"Fix: make {blocker} a writable folder (not a file)" in message
    assert "MLP_LAB_DATA" in message and "\n" not in message
    assert blocker.read_text() == "not a folder" and cache_entries(cache_dir) == []
    blocker.unlink()  # the fix the message names
    assert load_data(Config()).sizes()["test"] == 20


@pytest.mark.parametrize("lost", ["data_batch_3", "batches.meta"])
def test_a_missing_extracted_file_is_restored(lost, synthetic, server, project,
                                              point, cache_dir):
    """From the kept archive with no server; with the archive gone too, the
    error names the missing file; a server then restores it."""
    point(server.url(ARCHIVE))
    first = load_data(Config())
    (project / "data" / FOLDER / lost).unlink()
    point(refused_url())
    again = load_data(Config())  # re-extracted from data/cifar-10-python.tar.gz
    assert (project / "data" / FOLDER / lost).read_bytes() == synthetic.files[lost]
    assert torch.equal(again.images["train"], first.images["train"])

    (project / "data" / FOLDER / lost).unlink()
    (project / "data" / ARCHIVE).unlink()
    entries = cache_entries(cache_dir)
    with pytest.raises(DataError, match=f"{FOLDER} lacks or has damaged {lost}, and "
                       "CIFAR-10 cannot be downloaded from .*Connection refused"):
        load_data(Config())
    assert cache_entries(cache_dir) == entries
    point(server.url(ARCHIVE))
    assert torch.equal(load_data(Config()).images["test"], first.images["test"])


# ------------------------------------------------------------ unpickling

class Plant:
    """Unpickling this creates the file ``marker`` (what an attacker's code could)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_poisoned_pickle_works_when_unpickled(tmp_path):
    """The control: the plant used below does run when something unpickles it."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Plant(marker))).close()
    assert marker.exists()


def test_nothing_is_unpickled_before_its_md5_has_passed(synthetic, server, project,
                                                        point, tmp_path):
    marker = tmp_path / "ran"
    poisoned = {**synthetic.files, "data_batch_1": pickle.dumps(Plant(marker))}
    write_archive(tmp_path / ARCHIVE, poisoned)
    point(server.url(ARCHIVE))  # torchvision's MD5 sums: the good archive's
    server.files[ARCHIVE] = (tmp_path / ARCHIVE).read_bytes()
    with pytest.raises(DataError, match="damaged or incomplete"):
        load_data(Config())  # the archive's MD5 differs: never extracted
    assert not marker.exists() and not (project / "data" / FOLDER).exists()

    server.files[ARCHIVE] = synthetic.archive
    load_data(Config())
    batch = project / "data" / FOLDER / "data_batch_1"
    batch.write_bytes(poisoned["data_batch_1"])  # planted among the extracted files
    load_data(Config())  # the listing changed: the files are checked and read again
    assert not marker.exists()
    assert batch.read_bytes() == synthetic.files["data_batch_1"]  # re-extracted
