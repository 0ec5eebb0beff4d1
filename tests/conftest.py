"""Shared fixtures: a small slice of real MNIST, and a fresh runs folder."""

from __future__ import annotations

import numpy as np
import pytest

from dcgan.data import Mnist, load_mnist, save_npz
from dcgan.runs import Run
from dcgan.variants import get_variant

# Enough for a few batches of 128 and a quick look at test digits.
SLICE_TRAIN = 1024
SLICE_TEST = 256


@pytest.fixture(scope="session")
def mnist_slice_path(tmp_path_factory):
    """A Keras-layout mnist.npz holding the first images of real MNIST."""
    full = load_mnist()
    part = Mnist(
        full.train_images[:SLICE_TRAIN],
        full.train_labels[:SLICE_TRAIN],
        full.test_images[:SLICE_TEST],
        full.test_labels[:SLICE_TEST],
        source="slice",
    )
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    save_npz(part, path)
    return path


@pytest.fixture(scope="session")
def mnist_slice(mnist_slice_path):
    """The slice, loaded."""
    return load_mnist(mnist_slice_path)


@pytest.fixture
def runs_dir(tmp_path):
    """An empty runs folder for one test."""
    return tmp_path / "runs"


def create_run(runs_dir, name="r", variant="dcgan-2", **settings) -> Run:
    """A run folder with run.json written and nothing trained."""
    spec = get_variant(variant)
    batch_size = settings.pop("batch_size", None)
    if batch_size:
        spec = spec.derive(spec.name, batch_size=batch_size)
    config = {"variant": spec.to_dict(), "seed": 1, "epochs": 1, "max_steps": None}
    config.update(settings)
    run = Run(runs_dir, name)
    run.create(config)
    return run


def assert_continuous(history: dict, last_step: int) -> None:
    """History holds steps 1..last_step exactly once each, all losses finite."""
    np.testing.assert_array_equal(history["step"], np.arange(1, last_step + 1))
    for column in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc", "elapsed_s"):
        assert np.isfinite(history[column]).all(), column
    assert (np.diff(history["elapsed_s"]) >= 0).all()
