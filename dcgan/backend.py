"""TensorFlow, imported once and set up for sharing a GPU between jobs and pages."""

from __future__ import annotations

import functools
import logging

logger = logging.getLogger(__name__)


@functools.cache
def tensorflow():
    """The `tensorflow` module, with GPU memory growing on demand.

    Without memory growth the first model on a GPU claims all of its memory, and a
    second job or the latent page would fail to allocate any.
    """
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU was already initialised elsewhere
            logger.debug("memory growth not set on %s", gpu.name)
    return tf


def device_name() -> str:
    """'GPU' followed by a count where TensorFlow sees GPUs, else 'CPU'."""
    gpus = tensorflow().config.list_physical_devices("GPU")
    return f"GPU x{len(gpus)}" if gpus else "CPU"
