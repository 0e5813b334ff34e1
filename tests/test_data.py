"""Data pipeline on small ImageFolder trees (and, when available, the real one):
split, labels, statistics, batches, provenance, the on-disk cache, errors."""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mlp_lab
from mlp_lab.config import Config
from mlp_lab.data import DataError, load_data, split_indices

CLASSES = ("automobile", "cat")


def small(root, **kw) -> Config:
    """A 4x4 config on the tree ``root`` (sizes match 3 x 4 x 4 = 48)."""
    kw = {"data_dir": str(root), "image_size": 4, "sizes": (48, 8, 2), **kw}
    return Config(**kw)


def read_pixels(path: Path) -> np.ndarray:
    """(3, H, W) uint8 pixels of an image, decoded by PIL (not by mlp_lab)."""
    return np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)


def files(root, split, classes=CLASSES):
    """The images of ``classes`` in the order mlp_lab lists them: class, name."""
    return [p for c in classes for p in sorted((root / split / c).iterdir())]


@pytest.fixture
def tree(image_tree):
    """4x4 PNG noise (lossless, already at image_size): 25 train, 6 test per class."""
    return image_tree(n_train=25, n_test=6, size=(4, 4))


# ---------------------------------------------------------------- split, labels

@pytest.mark.parametrize("fraction", [0.9, 0.75, 0.5, 0.31])
def test_split_sizes_follow_train_fraction(tree, fraction):
    data = load_data(small(tree, train_fraction=fraction))
    n_train = round(50 * fraction)  # 0.75 -> 37.5 -> 38, floor would give 37
    assert data.sizes() == {"train": n_train, "val": 50 - n_train, "test": 12}


def test_split_matches_randperm_and_labels_follow_class_order(tree):
    cfg = small(tree, split_seed=123)
    data = load_data(cfg)
    pixels = np.stack([read_pixels(p) for p in files(tree, "train")])
    labels = np.array([0] * 25 + [1] * 25)
    perm = torch.randperm(50, generator=torch.Generator().manual_seed(123)).numpy()
    n_train = round(50 * cfg.train_fraction)
    assert np.array_equal(data.images["train"].numpy(), pixels[perm[:n_train]])
    assert np.array_equal(data.images["val"].numpy(), pixels[perm[n_train:]])
    assert np.array_equal(data.labels["train"].numpy(), labels[perm[:n_train]])
    assert np.array_equal(data.labels["val"].numpy(), labels[perm[n_train:]])
    test = np.stack([read_pixels(p) for p in files(tree, "test")])
    assert np.array_equal(data.images["test"].numpy(), test)
    assert data.labels["test"].tolist() == [0] * 6 + [1] * 6
    assert data.labels["train"].dtype == torch.int64


def test_labels_follow_config_class_order_not_folder_order(tree):
    data = load_data(small(tree, classes=("cat", "automobile"),
                           class_names=("cat", "car")))
    # "cat" is now class 0: its test images come first and get label 0.
    test = np.stack([read_pixels(p) for p in files(tree, "test", ("cat",))])
    assert np.array_equal(data.images["test"][:6].numpy(), test)
    assert data.labels["test"].tolist() == [0] * 6 + [1] * 6
    assert data.class_names == ("cat", "car")


def test_split_is_seeded(tree):
    a = load_data(small(tree, split_seed=1))
    b = load_data(small(tree, split_seed=1))
    c = load_data(small(tree, split_seed=2))
    assert torch.equal(a.images["train"], b.images["train"])
    assert torch.equal(a.labels["val"], b.labels["val"])
    assert not torch.equal(a.images["train"], c.images["train"])
    # Same images overall, only split differently.
    assert torch.equal(torch.cat([a.labels["train"], a.labels["val"]]).sort().values,
                       torch.cat([c.labels["train"], c.labels["val"]]).sort().values)


def test_split_indices_partition_and_load_data_rejects_empty_splits(image_tree):
    tr, va = split_indices(10, 0.7, 0)
    assert sorted(torch.cat([tr, va]).tolist()) == list(range(10))
    assert len(tr) == 7
    root = image_tree(n_train=5, n_test=2, size=(4, 4))  # 10 training images
    for fraction in (0.01, 0.99):
        with pytest.raises(DataError, match="train_fraction"):
            load_data(small(root, train_fraction=fraction))


# ---------------------------------------------------------------- statistics

def test_mean_and_std_are_those_of_the_train_split(tree):
    cfg = small(tree, split_seed=5)
    data = load_data(cfg)
    pixels = np.stack([read_pixels(p) for p in files(tree, "train")]) / 255.0
    perm = torch.randperm(50, generator=torch.Generator().manual_seed(5)).numpy()
    train = pixels[perm[:round(50 * cfg.train_fraction)]]
    per_channel = train.transpose(1, 0, 2, 3).reshape(3, -1)
    assert data.mean.dtype == torch.float64 and data.mean.shape == (3,)
    np.testing.assert_allclose(data.mean.numpy(), per_channel.mean(1), rtol=1e-12)
    np.testing.assert_allclose(data.std.numpy(), per_channel.std(1, ddof=1),
                               rtol=1e-12)
    # ... and not those of the whole training folder (train + validation).
    everything = pixels.transpose(1, 0, 2, 3).reshape(3, -1)
    assert np.abs(data.mean.numpy() - everything.mean(1)).max() > 1e-6


def test_normalized_train_split_has_zero_mean_unit_std(tree):
    data = load_data(small(tree))
    x = data.normalized("train")
    assert x.dtype == torch.float64 and x.shape == (45, 3, 4, 4)
    mean = x.transpose(0, 1).flatten(1).mean(1)
    std = x.transpose(0, 1).flatten(1).std(1)
    assert torch.allclose(mean, torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(std, torch.ones(3, dtype=torch.float64), atol=1e-12)
    # The validation split is normalized with the train statistics, not its own.
    val = data.normalized("val").transpose(0, 1).flatten(1)
    assert val.mean(1).abs().max() > 1e-6
    assert data.normalized("test", torch.float32).dtype == torch.float32


# ---------------------------------------------------------------- batches

def test_batches_are_fixed_flat_slices_covering_all_samples(tree):
    data = load_data(small(tree))
    loader = data.batches("train", 7)
    batches = list(loader)
    assert len(loader) == len(batches) == 7  # 45 = 6 * 7 + 3
    assert [len(y) for _, y in batches] == [7] * 6 + [3]
    assert all(x.shape == (len(y), 48) for x, y in batches)
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    assert torch.equal(x, data.normalized("train").flatten(1))
    assert torch.equal(y, data.labels["train"])
    again = list(loader)  # a second epoch sees the same order
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
               for a, b in zip(batches, again))
    assert next(iter(data.batches("val", 100, torch.float32)))[0].dtype == torch.float32


def test_the_librarys_slices_are_the_notebooks_dataloader_batches(tree):
    """Part B batches with a DataLoader (images.batches), the library with
    slices: the same tensors, so the same trainings to the last bit."""
    from mlp_lab.images import batches

    data = load_data(small(tree))
    x = data.normalized("train").flatten(1)
    shown = batches(x, data.labels["train"], 7)
    fast = data.batches("train", 7)
    assert len(shown) == len(fast) == 7
    for (a, y), (b, z) in zip(shown, fast):
        assert torch.equal(a, b) and torch.equal(y, z)
        assert a.is_contiguous() and b.is_contiguous()


# ---------------------------------------------------------------- images, counts

def test_images_are_resized_to_image_size(image_tree):
    root = image_tree(n_train=6, n_test=2, size=(9, 7))
    # Mixed sizes and modes in one class: a larger grey PNG and an RGBA PNG.
    cat = root / "train" / "cat"
    Image.new("L", (20, 13), 200).save(cat / "9998.png")
    Image.new("RGBA", (5, 5), (10, 20, 30, 128)).save(cat / "9999.png")
    data = load_data(small(root, train_fraction=0.5))
    for split in ("train", "val", "test"):
        assert data.images[split].dtype == torch.uint8
        assert data.images[split].shape[1:] == (3, 4, 4)
    everything = torch.cat([data.images["train"], data.images["val"]])
    # A constant image stays that constant when resized; grey becomes RGB.
    assert any(torch.equal(im, torch.full((3, 4, 4), 200, dtype=torch.uint8))
               for im in everything)
    rgb = torch.tensor([10, 20, 30], dtype=torch.uint8)[:, None, None].expand(3, 4, 4)
    assert any(torch.equal(im, rgb) for im in everything)


def test_counts_and_limit_per_class(image_tree):
    root = image_tree(n_train=12, n_test=5, size=(4, 4))
    data = load_data(small(root))
    counts = data.counts()
    assert counts["test"] == [5, 5]
    assert sum(counts["train"]) + sum(counts["val"]) == 24
    assert [a + b for a, b in zip(counts["train"], counts["val"])] == [12, 12]
    limited = load_data(small(root, limit_per_class=3))
    assert limited.counts()["test"] == [3, 3]
    assert sum(limited.sizes().values()) == 12
    assert limited.provenance["n_files"] == 12
    # The first 3 files (by name) of each class are the ones kept.
    kept = np.stack([read_pixels(p) for c in CLASSES
                     for p in sorted((root / "test" / c).iterdir())[:3]])
    assert np.array_equal(limited.images["test"].numpy(), kept)


# ---------------------------------------------------------------- provenance

def test_provenance_and_fingerprint_follow_the_content(tree, cache_dir):
    cfg = small(tree)
    first = load_data(cfg)
    prov = first.provenance
    assert prov["source"] == "imagefolder"
    assert prov["location"] == str(tree.resolve())
    assert prov["n_files"] == 62  # (25 + 6) x 2 classes; the "bird" folder is not read
    assert Path(prov["cache_file"]).parent == cache_dir
    assert load_data(cfg).provenance["fingerprint"] == prov["fingerprint"]

    changed = files(tree, "test")[0]
    Image.fromarray(np.full((4, 4, 3), 7, dtype=np.uint8)).save(changed)
    second = load_data(cfg)
    assert second.provenance["fingerprint"] != prov["fingerprint"]
    assert torch.equal(second.images["test"][0], torch.full((3, 4, 4), 7,
                                                            dtype=torch.uint8))


def test_data_dir_in_config_wins_over_environment(tree, monkeypatch, tmp_path):
    monkeypatch.setenv("MLP_LAB_DATA", str(tmp_path / "elsewhere"))
    assert load_data(small(tree)).provenance["location"] == str(tree.resolve())


def test_environment_names_the_tree(tree, monkeypatch):
    monkeypatch.setenv("MLP_LAB_DATA", str(tree))
    cfg = Config(image_size=4, sizes=(48, 8, 2))
    assert load_data(cfg).provenance["location"] == str(tree.resolve())


# ---------------------------------------------------------------- cache

LOAD_SCRIPT = """
import hashlib, json, sys, time
from mlp_lab.config import Config
from mlp_lab.data import load_data
cfg = Config(**json.loads(sys.argv[1]))
start = time.perf_counter()
data = load_data(cfg)
seconds = time.perf_counter() - start
digest = hashlib.sha256()
for s in ("train", "val", "test"):
    digest.update(data.images[s].numpy().tobytes())
    digest.update(data.labels[s].numpy().tobytes())
print(json.dumps({"seconds": seconds, "digest": digest.hexdigest(),
                  "mean": data.mean.tolist(), "std": data.std.tolist(),
                  "provenance": data.provenance}))
"""


def summary(data) -> dict:
    digest = hashlib.sha256()
    for s in ("train", "val", "test"):
        digest.update(data.images[s].numpy().tobytes())
        digest.update(data.labels[s].numpy().tobytes())
    return {"digest": digest.hexdigest(), "mean": data.mean.tolist(),
            "std": data.std.tolist(), "provenance": data.provenance}


def load_in_new_process(python_run, cfg_kwargs: dict, env=None) -> dict:
    proc = python_run(["-c", LOAD_SCRIPT, json.dumps(cfg_kwargs)], env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def cache_files(folder: Path) -> dict:
    """name -> mtime_ns of every file in ``folder`` (hidden temp files included)."""
    return {p.name: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_second_load_in_a_new_process_comes_from_the_cache(tree, cache_dir,
                                                           python_run):
    kwargs = {"data_dir": str(tree), "image_size": 4, "sizes": [48, 8, 2]}
    first = summary(load_data(small(tree)))
    before = cache_files(cache_dir)
    assert len(before) == 1 and Path(first["provenance"]["cache_file"]).is_file()
    second = load_in_new_process(python_run, kwargs)
    print(f"\ncached load of the small tree in a new process: "
          f"{second['seconds']:.3f} s")
    assert cache_files(cache_dir) == before  # nothing rewritten, nothing added
    assert {k: second[k] for k in first} == first


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_cache_file_is_detected_and_rebuilt(tree, cache_dir, damage):
    cfg = small(tree)
    first = summary(load_data(cfg))
    path = Path(first["provenance"]["cache_file"])
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[:len(blob) // 2])
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(len(blob)))
    else:
        path.write_bytes(b"")
    with pytest.warns(UserWarning, match="damaged"):  # announced, then rebuilt
        rebuilt = summary(load_data(cfg))
    assert rebuilt == first
    assert path.read_bytes() != b"" and len(path.read_bytes()) == len(blob)
    assert torch.load(path, weights_only=True)["format"] >= 1
    assert not list(cache_dir.rglob("*.tmp"))


def test_no_temporary_files_are_left_behind(tree, cache_dir):
    for seed in (1, 2):
        load_data(small(tree, split_seed=seed))
    names = [p.name for p in cache_dir.rglob("*")]
    assert len(names) == 2
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]


def test_cache_follows_the_data_fields(tree, cache_dir):
    load_data(small(tree))
    load_data(small(tree, train_fraction=0.5))
    load_data(small(tree, epochs=3, seed=1))  # not a data field: same file
    assert len(list(cache_dir.glob("data-*.pt"))) == 2


def test_cache_follows_the_torch_and_torchvision_releases(tree, cache_dir,
                                                          monkeypatch):
    """torchvision resizes the images: another installed release (as its
    metadata says) must build the data again, not reuse the cached file."""
    from mlp_lab import cache
    first = load_data(small(tree)).provenance["cache_file"]
    assert load_data(small(tree)).provenance["cache_file"] == first
    monkeypatch.setattr(cache, "releases",
                        lambda: ["torch==2.14.1", "torchvision==0.0.1"])
    assert load_data(small(tree)).provenance["cache_file"] != first


PIPELINE_SCRIPT = """
import json, sys
from pathlib import Path
import mlp_lab
from mlp_lab.config import Config
from mlp_lab.data import load_data
package = Path(mlp_lab.__file__).parent
assert package == Path(sys.argv[2]), package
cfg = Config(data_dir=sys.argv[1], image_size=4, sizes=(48, 8, 2))
files = {"before": load_data(cfg).provenance["cache_file"]}
for module in ("trainers", "data", "images", "sources"):
    path = package / f"{module}.py"
    path.write_text(path.read_text() + "\\n# edited\\n")
    files[module] = load_data(cfg).provenance["cache_file"]
print(json.dumps(files))
"""


def test_cache_follows_the_source_of_the_pipeline(tree, tmp_path, python_run):
    """A cached data set is the output of the code that built it: editing the
    modules that read, resize, split or normalize the images makes another
    entry (and a fixed bug takes effect); editing another module does not."""
    src = Path(mlp_lab.__file__).parent
    package = tmp_path / "lib" / "mlp_lab"
    shutil.copytree(src, package, ignore=shutil.ignore_patterns("__pycache__"))
    proc = python_run(["-c", PIPELINE_SCRIPT, tree, package],
                      env={"PYTHONPATH": package.parent}, cwd=package.parent)
    assert proc.returncode == 0, proc.stderr
    files = json.loads(proc.stdout)
    assert files["trainers"] == files["before"]
    built = [files[m] for m in ("before", "data", "images", "sources")]
    assert len(set(built)) == 4, files


# ---------------------------------------------------------------- errors

def test_missing_data_folder(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("MLP_LAB_DATA", str(missing))
    cfg = Config(image_size=4, sizes=(48, 8, 2))
    with pytest.raises(DataError) as err:
        load_data(cfg)
    message = str(err.value)
    assert str(missing) in message
    assert "MLP_LAB_DATA" in message and "download" in message


def test_missing_split_folder(tree):
    (tree / "test").rename(tree / "testing")
    with pytest.raises(DataError, match="'test'") as err:
        load_data(small(tree))
    assert str(tree / "test") in str(err.value)


def test_missing_class_folder(tree):
    (tree / "train" / "cat").rename(tree / "train" / "kitten")
    with pytest.raises(DataError, match="class folder missing") as err:
        load_data(small(tree))
    message = str(err.value)
    assert str(tree / "train" / "cat") in message and "'cat'" in message
    assert "Fix:" in message


def test_empty_class_folder(tree):
    folder = tree / "test" / "automobile"
    for p in folder.iterdir():
        p.unlink()
    (folder / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match="class folder empty") as err:
        load_data(small(tree))
    assert str(folder) in str(err.value) and "Fix:" in str(err.value)


def test_corrupt_image_names_the_file(tree):
    bad = tree / "train" / "cat" / "0003.jpg"
    bad.write_bytes(np.random.default_rng(1).bytes(500))
    with pytest.raises(DataError, match="unreadable image") as err:
        load_data(small(tree))
    assert str(bad) in str(err.value) and "Fix:" in str(err.value)


def test_corrupt_jpeg_in_a_jpeg_tree_names_the_file(image_tree):
    root = image_tree(n_train=6, n_test=2, size=(8, 8), suffix=".jpg")
    bad = root / "test" / "automobile" / "0001.jpg"
    bad.write_bytes(bad.read_bytes()[:40])  # a JPEG header, then nothing
    with pytest.raises(DataError, match="unreadable image") as err:
        load_data(small(root, train_fraction=0.5))
    assert str(bad) in str(err.value)


def test_jpeg_tree_loads(image_tree):
    root = image_tree(n_train=10, n_test=3, size=(32, 32), suffix=".jpg")
    data = load_data(small(root))
    assert data.sizes() == {"train": 18, "val": 2, "test": 6}
    assert data.images["train"].shape[1:] == (3, 4, 4)


# ---------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    """A cache folder holding the default config's real data (built once)."""
    root = os.environ.get("MLP_LAB_DATA")
    if not root:
        pytest.skip("MLP_LAB_DATA is unset: the real-data tests need the "
                    "cifar10-jpg ImageFolder tree")
    folder = tmp_path_factory.mktemp("real-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLP_LAB_CACHE", str(folder))
        start = time.perf_counter()
        data = load_data(Config())
        print(f"\nreal data, first load (decode + resize): "
              f"{time.perf_counter() - start:.1f} s")
    return folder, summary(data), data.counts()


def test_real_data_split_sizes_and_counts(real_data, real_cache):
    _, first, counts = real_cache
    assert first["provenance"]["source"] == "imagefolder"
    assert first["provenance"]["n_files"] == 12000
    assert {s: sum(c) for s, c in counts.items()} == {"train": 9000, "val": 1000,
                                                      "test": 2000}
    assert counts["test"] == [1000, 1000]
    for split in ("train", "val"):
        assert all(0.45 < c / sum(counts[split]) < 0.55 for c in counts[split])
    # Statistics of natural images scaled to [0, 1].
    assert all(0.3 < m < 0.6 for m in first["mean"])
    assert all(0.15 < s < 0.35 for s in first["std"])


def test_real_data_cached_load_in_a_new_process_is_the_same_data(
        real_data, real_cache, python_run):
    """Read back, unchanged, from the cache file (its time is printed here and
    judged by the benchmark's data_cached_s target, not by this test)."""
    folder, first, _ = real_cache
    before = cache_files(folder)
    second = load_in_new_process(python_run, {}, env={"MLP_LAB_CACHE": folder})
    print(f"\nreal data, cached load in a new process: {second['seconds']:.3f} s")
    assert cache_files(folder) == before
    assert {k: second[k] for k in first} == first
