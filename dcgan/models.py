"""Generator and discriminator of each variant, planned as data, built in Keras.

The layer plan is plain Python, so the dashboard can show every layer, its output
shape and its parameter count without importing TensorFlow; `build_generator` and
`build_discriminator` turn the same plan into Keras models, and a test checks that
Keras counts what the plan says.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from dcgan import backend
from dcgan.variants import Variant

IMAGE_SHAPE = (28, 28, 1)
# The generator starts from a 7x7x128 map and doubles it twice to 28x28.
SEED_SHAPE = (7, 7, 128)
LEAKY_SLOPE = 0.2


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a plan: its kind, its settings and the shape it outputs."""

    kind: str
    output_shape: tuple[int, ...]
    params: int = 0
    settings: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short human description, e.g. 'ConvTranspose 128, 3x3, stride 2'."""
        s = self.settings
        if self.kind == "dense":
            return f"Dense {s['units']}"
        if self.kind in ("conv", "conv_transpose"):
            name = "Conv" if self.kind == "conv" else "ConvTranspose"
            k = s["kernel_size"]
            return f"{name} {s['filters']}, {k}x{k}, stride {s['strides']}"
        if self.kind == "activation":
            return f"Activation {s['activation']}"
        if self.kind == "leaky_relu":
            return f"LeakyReLU {LEAKY_SLOPE}"
        return {"reshape": "Reshape", "batch_norm": "BatchNorm", "flatten": "Flatten"}[
            self.kind
        ]


class _Planner:
    """Appends layers to a plan, tracking the output shape and parameter count."""

    def __init__(self, input_shape: tuple[int, ...]):
        self.shape = input_shape
        self.layers: list[LayerSpec] = []

    def _add(self, kind, shape, params=0, **settings):
        self.shape = shape
        self.layers.append(LayerSpec(kind, shape, params, settings))

    def dense(self, units, activation=None):
        self._add(
            "dense",
            (units,),
            self.shape[-1] * units + units,
            units=units,
            activation=activation,
        )

    def reshape(self, shape):
        self._add("reshape", shape, target_shape=shape)

    def conv(self, filters, kernel_size, strides, transpose=False):
        height, width, channels = self.shape
        # 'same' padding: a stride-s conv rounds up, a transposed one multiplies.
        if transpose:
            height, width = height * strides, width * strides
        else:
            height, width = math.ceil(height / strides), math.ceil(width / strides)
        params = kernel_size * kernel_size * channels * filters + filters
        kind = "conv_transpose" if transpose else "conv"
        self._add(
            kind,
            (height, width, filters),
            params,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
        )

    def batch_norm(self):
        # gamma and beta are trained; the moving mean and variance are not.
        self._add("batch_norm", self.shape, 4 * self.shape[-1])

    def leaky_relu(self):
        self._add("leaky_relu", self.shape)

    def activation(self, name):
        self._add("activation", self.shape, activation=name)

    def flatten(self):
        self._add("flatten", (math.prod(self.shape),))


def generator_plan(variant: Variant) -> list[LayerSpec]:
    """The generator's layers: latent vector (latent_dim,) to image (28, 28, 1)."""
    k = variant.kernel_size
    plan = _Planner((variant.latent_dim,))
    plan.dense(math.prod(SEED_SHAPE))
    plan.reshape(SEED_SHAPE)
    blocks = [(128, 1)] if variant.extra_block else []
    blocks += [(128, 2), (64, 2)]
    for filters, strides in blocks:
        plan.conv(filters, k, strides, transpose=True)
        plan.batch_norm()
        plan.leaky_relu()
    plan.conv(1, k, 1, transpose=True)
    plan.activation(variant.output_activation)
    return plan.layers


def discriminator_plan(variant: Variant) -> list[LayerSpec]:
    """The discriminator's layers: image (28, 28, 1) to P(real), shape (1,)."""
    k = variant.kernel_size
    plan = _Planner(IMAGE_SHAPE)
    plan.conv(64, k, 2)
    plan.leaky_relu()
    for filters in (128, 256) if variant.extra_block else (128,):
        plan.conv(filters, k, 2)
        plan.batch_norm()
        plan.leaky_relu()
    plan.flatten()
    plan.dense(1, activation="sigmoid")
    return plan.layers


def parameter_count(plan: list[LayerSpec]) -> int:
    """All parameters of a plan, trainable or not."""
    return sum(layer.params for layer in plan)


def multiply_adds(plan: list[LayerSpec], input_shape: tuple[int, ...]) -> list[int]:
    """Multiply-adds of each layer of `plan` for one image in a forward pass.

    Dense and convolution layers only; batch norm and activations are a few
    operations per value, small beside them.
    """
    counts = []
    shape = input_shape
    for spec in plan:
        s = spec.settings
        if spec.kind == "dense":
            counts.append(shape[-1] * s["units"])
        elif spec.kind in ("conv", "conv_transpose"):
            # A convolution sums a window per output pixel; a transposed one
            # spreads a window from each input pixel.
            pixels = spec.output_shape if spec.kind == "conv" else shape
            window = s["kernel_size"] ** 2 * shape[-1] * s["filters"]
            counts.append(pixels[0] * pixels[1] * window)
        else:
            counts.append(0)
        shape = spec.output_shape
    return counts


def training_step_flops(variant: Variant) -> int:
    """Floating-point operations (2 per multiply-add) of one training step.

    One step runs the generator forward on a batch of noise and the
    discriminator forward on the real and on the generated batch. Backward, a
    layer's weight gradient and its input gradient each cost what its forward
    pass did. The discriminator's loss needs weight gradients on both batches
    (and input gradients to reach them, except at the first layer); the
    generator's loss needs input gradients through the discriminator on the
    generated batch, then the generator's weight gradients and its input
    gradients but for the first layer, whose input is noise.
    """
    g = multiply_adds(generator_plan(variant), (variant.latent_dim,))
    d = multiply_adds(discriminator_plan(variant), IMAGE_SHAPE)
    g_total, d_total = sum(g), sum(d)
    generator_side = 3 * g_total - g[0]
    discriminator_side = 7 * d_total - 2 * d[0]
    return 2 * variant.batch_size * (generator_side + discriminator_side)


def describe(variant: Variant) -> list[dict]:
    """One row per layer of both networks, for tables in the UI and the CLI."""
    rows = []
    for network, plan in (
        ("generator", generator_plan(variant)),
        ("discriminator", discriminator_plan(variant)),
    ):
        for layer in plan:
            rows.append(
                {
                    "network": network,
                    "layer": layer.label,
                    "output shape": " x ".join(map(str, layer.output_shape)),
                    "parameters": layer.params,
                }
            )
    return rows


PRECISIONS = ("float32", "bfloat16")


def _build(plan: list[LayerSpec], input_shape, name, precision):
    # Keras is imported here, not at module level, so the plan stays cheap to read.
    keras = backend.keras()

    # Mixed bfloat16 computes in bfloat16 and keeps float32 weights; each network's
    # last layer stays float32, so losses and images keep their full precision.
    policy = "mixed_bfloat16" if precision == "bfloat16" else "float32"
    layers = [keras.Input(shape=input_shape)]
    for index, spec in enumerate(plan):
        s = spec.settings
        dtype = "float32" if index == len(plan) - 1 else policy
        if spec.kind == "dense":
            layer = keras.layers.Dense(
                s["units"], activation=s["activation"], dtype=dtype
            )
        elif spec.kind == "reshape":
            layer = keras.layers.Reshape(s["target_shape"], dtype=dtype)
        elif spec.kind in ("conv", "conv_transpose"):
            conv = (
                keras.layers.Conv2D
                if spec.kind == "conv"
                else keras.layers.Conv2DTranspose
            )
            layer = conv(
                s["filters"], s["kernel_size"], s["strides"], "same", dtype=dtype
            )
        elif spec.kind == "batch_norm":
            norm = _fused_batch_norm() if precision else keras.layers.BatchNormalization
            layer = norm(dtype=dtype)
        elif spec.kind == "leaky_relu":
            layer = keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, dtype=dtype)
        elif spec.kind == "activation":
            layer = keras.layers.Activation(s["activation"], dtype=dtype)
        elif spec.kind == "flatten":
            layer = keras.layers.Flatten(dtype=dtype)
        layers.append(layer)
    return keras.Sequential(layers, name=name)


@functools.cache
def _fused_batch_norm():
    """BatchNormalization that trains with TensorFlow's single fused kernel.

    Keras 3 builds training-mode batch norm from a dozen small ops; the fused
    kernel computes the same normalisation, gradients and moving averages (the
    biased batch variance, as Keras keeps) in one pass. The variables, their
    order and inference are those of the Keras layer, so checkpoints and weights
    move freely between the two.
    """
    tf = backend.tensorflow()
    keras = backend.keras()

    class FusedBatchNormalization(keras.layers.BatchNormalization):
        def call(self, inputs, training=None, mask=None):
            if not training or self.axis not in (-1, len(inputs.shape) - 1):
                return super().call(inputs, training=training, mask=mask)
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs,
                tf.convert_to_tensor(self.gamma),
                tf.convert_to_tensor(self.beta),
                epsilon=self.epsilon,
                is_training=True,
            )
            # The kernel hands back the unbiased variance; Keras averages the biased.
            count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
            variance = variance * (count - 1.0) / count
            momentum = self.momentum
            self.moving_mean.assign(
                self.moving_mean * momentum + mean * (1.0 - momentum)
            )
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1.0 - momentum)
            )
            return outputs

    return FusedBatchNormalization


def build_generator(variant: Variant, precision: str | None = None):
    """A Keras generator for `variant`: (batch, latent_dim) to (batch, 28, 28, 1).

    With `precision` None the model uses Keras' own layers in float32, for drawing
    and export; 'float32' or 'bfloat16' builds the training model: the same
    weights, fused batch norm, and that compute precision.
    """
    return _build(
        generator_plan(variant), (variant.latent_dim,), "generator", precision
    )


def build_discriminator(variant: Variant, precision: str | None = None):
    """A Keras discriminator for `variant`: (batch, 28, 28, 1) to P(real) (batch, 1).

    `precision` as for `build_generator`.
    """
    return _build(discriminator_plan(variant), IMAGE_SHAPE, "discriminator", precision)


def generate(generator, latents: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Images drawn by `generator` for `latents` (n, latent_dim), in its own range.

    BatchNorm runs in inference mode (moving statistics), as for any sample shown.
    """
    outputs = [
        np.asarray(generator(latents[start : start + batch_size], training=False))
        for start in range(0, len(latents), batch_size)
    ]
    return np.concatenate(outputs)[..., 0]


def draw_digits(generator, variant: Variant, latents: np.ndarray) -> np.ndarray:
    """Digits drawn by `generator` for `latents`, as uint8 pixels (n, 28, 28)."""
    from dcgan.images import to_uint8

    return to_uint8(generate(generator, latents), variant.data_range)
