"""TensorFlow and Keras, imported once and set up for sharing a GPU.

Every lazy import of TensorFlow or Keras in the engine goes through here: two
threads that import TensorFlow for the first time at once (a training job and a
page loading a generator) can deadlock in Python's import machinery, so the
first import happens under a lock.
"""

from __future__ import annotations

import atexit
import logging
import threading

logger = logging.getLogger(__name__)

_import_lock = threading.Lock()
_modules: dict = {}
_exit_hooks: list = []


def tensorflow():
    """The `tensorflow` module, with GPU memory growing on demand.

    Without memory growth the first model on a GPU claims all of its memory, and a
    second job or the latent page would fail to allocate any.
    """
    with _import_lock:
        if "tensorflow" not in _modules:
            import keras
            import tensorflow as tf

            for gpu in tf.config.list_physical_devices("GPU"):
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except RuntimeError:  # the GPU was already initialised elsewhere
                    logger.debug("memory growth not set on %s", gpu.name)
            _modules.update(tensorflow=tf, keras=keras)
            for hook in _exit_hooks:
                atexit.register(hook)
        return _modules["tensorflow"]


def at_exit_while_tensorflow_works(hook) -> None:
    """Call `hook` at interpreter exit, before TensorFlow's own exit handlers.

    atexit runs handlers last-registered first, and TensorFlow registers its own
    when imported; a hook registered earlier would run after them and find Keras
    unable to call a model. So hooks are registered once TensorFlow is imported.
    """
    with _import_lock:
        if "tensorflow" in _modules:
            atexit.register(hook)
        else:
            _exit_hooks.append(hook)


def keras():
    """The `keras` module, imported after TensorFlow is set up."""
    tensorflow()
    return _modules["keras"]


def device_name() -> str:
    """'GPU' followed by a count where TensorFlow sees GPUs, else 'CPU'."""
    gpus = tensorflow().config.list_physical_devices("GPU")
    return f"GPU x{len(gpus)}" if gpus else "CPU"
