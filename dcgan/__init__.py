"""DCGAN Studio's engine: variants, data, training, runs, jobs and latent maths.

Importing this package is cheap: TensorFlow loads only when a model is built or
trained, so the dashboard's first page never waits for it.
"""

__version__ = "0.1.0"

import os

# TensorFlow's C++ start-up chatter (CUDA probes on a machine without a GPU, CPU
# flags) is noise to a user; this quiets most of it (a few lines printed before
# its logging starts cannot be). Real failures still surface as exceptions.
# A value the user set wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
