"""A small CIFAR-10 of synthetic images, as torchvision downloads it, served on
127.0.0.1.

:func:`make_images` draws images of all ten classes; :func:`write_archive`
packs them exactly as ``cifar-10-python.tar.gz`` is packed (``cifar-10-batches-py/``
with ``data_batch_1`` to ``data_batch_5``, ``test_batch`` and ``batches.meta``,
each a pickle of the documented format: ``data`` a (N, 3072) uint8 array of
rows R, G, B of 32 x 32, ``labels`` a list of ints, ``label_names``), and
returns the attributes that point ``torchvision.datasets.CIFAR10`` at it;
:func:`write_png_tree` writes the same images as a lossless ImageFolder tree;
:class:`ArchiveServer` serves files over HTTP, whole or cut off mid-body.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# CIFAR-10's classes in its label order (batches.meta's label_names)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
           "ship", "truck"]
FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"


@dataclass
class Images:
    """Training and test images (N, 32, 32, 3) uint8 with labels 0..9."""

    train: np.ndarray
    train_labels: list[int]
    test: np.ndarray
    test_labels: list[int]


def make_images(n_train: int = 20, n_test: int = 10, seed: int = 0) -> Images:
    """``n_train`` and ``n_test`` images per class, in a seeded shuffled order.

    Class k's pixels are drawn from [20 k, 20 k + 100): a small MLP tells the
    classes apart, and no two images are alike.
    """
    rng = np.random.default_rng(seed)

    def draw(n):
        labels = rng.permutation(np.repeat(np.arange(10), n))
        lows = 20 * labels[:, None, None, None]
        pixels = lows + rng.integers(0, 100, (len(labels), 32, 32, 3))
        return pixels.astype(np.uint8), labels.tolist()
    return Images(*draw(n_train), *draw(n_test))


def _batch(images: np.ndarray, labels: list[int], name: str) -> bytes:
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # R, G, B planes
    return pickle.dumps({"batch_label": name, "labels": labels, "data": rows,
                         "filenames": [f"img_{i}.png" for i in range(len(labels))]},
                        protocol=2)


def batch_files(images: Images) -> dict[str, bytes]:
    """File name -> bytes of the seven files of ``cifar-10-batches-py``."""
    files = {}
    for k, part in enumerate(np.array_split(np.arange(len(images.train)), 5)):
        files[f"data_batch_{k + 1}"] = _batch(
            images.train[part], [images.train_labels[i] for i in part],
            f"training batch {k + 1} of 5")
    files["test_batch"] = _batch(images.test, images.test_labels, "testing batch 1")
    files["batches.meta"] = pickle.dumps(
        {"label_names": CLASSES, "num_cases_per_batch": len(images.train) // 5,
         "num_vis": 3072}, protocol=2)
    return files


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_archive(path: Path, files: dict[str, bytes]) -> dict:
    """Write ``files`` as ``cifar-10-batches-py/*`` into the gzipped tar ``path``;
    the ``CIFAR10`` class attributes (but ``url``) that describe it."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return {"tgz_md5": md5(path.read_bytes()),
            "train_list": [[f"data_batch_{k}", md5(files[f"data_batch_{k}"])]
                           for k in range(1, 6)],
            "test_list": [["test_batch", md5(files["test_batch"])]],
            "meta": {"filename": "batches.meta", "key": "label_names",
                     "md5": md5(files["batches.meta"])}}


def write_png_tree(root: Path, images: Images) -> Path:
    """``root/{train,test}/<class>/NNNNN.png``: image i of a split as file i
    (PNG: lossless), so each class lists its images in the archive's order."""
    for split, pixels, labels in (("train", images.train, images.train_labels),
                                  ("test", images.test, images.test_labels)):
        for i, (image, label) in enumerate(zip(pixels, labels)):
            folder = root / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:05d}.png")
    return root


class ArchiveServer:
    """An HTTP server on 127.0.0.1 (ephemeral port) in a thread, serving
    ``files`` (name -> bytes) from memory; a name in ``cut`` is sent with its
    full Content-Length but only its first half, then the connection closes.
    Use as a context manager; ``url(name)`` is a file's address."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2] if name in server.cut else data)
                self.close_connection = True

            def log_message(self, *args):  # quiet: pytest shows stderr on failure
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def __enter__(self) -> ArchiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
