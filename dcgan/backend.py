"""TensorFlow and Keras, imported once and set up for sharing a GPU.

Every lazy import of TensorFlow or Keras in the engine goes through here: two
threads that import TensorFlow for the first time at once (a training job and a
page loading a generator) can deadlock in Python's import machinery, so the
first import happens under a lock.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading

logger = logging.getLogger(__name__)

_import_lock = threading.Lock()
_modules: dict = {}
_import_hooks: list = []


def tensorflow():
    """The `tensorflow` module, with GPU memory growing on demand.

    Without memory growth the first model on a GPU claims all of its memory, and a
    second job or the latent page would fail to allocate any.
    """
    with _import_lock:
        if "tensorflow" not in _modules:
            with _native_stderr_silenced():
                import keras
                import tensorflow as tf

                gpus = tf.config.list_physical_devices("GPU")
            for gpu in gpus:
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except RuntimeError:  # the GPU was already initialised elsewhere
                    logger.debug("memory growth not set on %s", gpu.name)
            _modules.update(tensorflow=tf, keras=keras)
            for hook in _import_hooks:
                hook(tf, keras)
        return _modules["tensorflow"]


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment.

    TensorFlow's C++ start-up lines (oneDNN notes, CUDA probes on machines without
    a GPU) are written before its log level applies, straight to the descriptor.
    Python exceptions raised meanwhile still propagate once it is restored.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def at_exit_while_tensorflow_works(hook) -> None:
    """Call `hook` at interpreter exit, before TensorFlow's own exit handlers.

    atexit runs handlers last-registered first, and TensorFlow registers its own
    when imported; a hook registered earlier would run after them and find Keras
    unable to call a model. So hooks are registered once TensorFlow is imported.
    """
    after_import(lambda tensorflow, keras: atexit.register(hook))


def after_import(hook) -> None:
    """Call `hook(tensorflow, keras)` once both are imported: now, if they are."""
    with _import_lock:
        if "tensorflow" in _modules:
            hook(_modules["tensorflow"], _modules["keras"])
        else:
            _import_hooks.append(hook)


def keras():
    """The `keras` module, imported after TensorFlow is set up."""
    tensorflow()
    return _modules["keras"]


def gpu_count() -> int:
    """How many GPUs TensorFlow sees."""
    return len(tensorflow().config.list_physical_devices("GPU"))


def device_name() -> str:
    """'GPU' followed by a count where TensorFlow sees GPUs, else 'CPU'."""
    count = gpu_count()
    return f"GPU x{count}" if count else "CPU"


def cpu_has_bfloat16() -> bool:
    """Whether this CPU has bfloat16 dot products and TensorFlow uses oneDNN.

    Without AVX512-BF16 or AMX, or with oneDNN turned off, bfloat16 kernels are
    emulated and slower than float32. Reads /proc/cpuinfo, so Linux only.
    """
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip() in ("0", "false"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False
