"""Generator and discriminator of each variant, planned as data, built in Keras.

The layer plan is plain Python, so the dashboard can show every layer, its output
shape and its parameter count without importing TensorFlow; `build_generator` and
`build_discriminator` turn the same plan into Keras models, and a test checks that
Keras counts what the plan says.
"""

from __future__ import annotations

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


def _build(plan: list[LayerSpec], input_shape, name):
    # Keras is imported here, not at module level, so the plan stays cheap to read.
    keras = backend.keras()

    layers = [keras.Input(shape=input_shape)]
    for spec in plan:
        s = spec.settings
        if spec.kind == "dense":
            layers.append(keras.layers.Dense(s["units"], activation=s["activation"]))
        elif spec.kind == "reshape":
            layers.append(keras.layers.Reshape(s["target_shape"]))
        elif spec.kind in ("conv", "conv_transpose"):
            conv = (
                keras.layers.Conv2D
                if spec.kind == "conv"
                else keras.layers.Conv2DTranspose
            )
            layers.append(
                conv(s["filters"], s["kernel_size"], s["strides"], padding="same")
            )
        elif spec.kind == "batch_norm":
            layers.append(keras.layers.BatchNormalization())
        elif spec.kind == "leaky_relu":
            layers.append(keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE))
        elif spec.kind == "activation":
            layers.append(keras.layers.Activation(s["activation"]))
        elif spec.kind == "flatten":
            layers.append(keras.layers.Flatten())
    return keras.Sequential(layers, name=name)


def build_generator(variant: Variant):
    """A Keras generator for `variant`: (batch, latent_dim) to (batch, 28, 28, 1)."""
    return _build(generator_plan(variant), (variant.latent_dim,), "generator")


def build_discriminator(variant: Variant):
    """A Keras discriminator for `variant`: (batch, 28, 28, 1) to P(real) (batch, 1)."""
    return _build(discriminator_plan(variant), IMAGE_SHAPE, "discriminator")


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
