import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dcgan import backend, models
from dcgan.variants import VARIANTS


@pytest.mark.parametrize("name", list(VARIANTS))
def test_keras_models_match_the_layer_plan(name):
    variant = VARIANTS[name]
    for plan, model in (
        (models.generator_plan(variant), models.build_generator(variant)),
        (models.discriminator_plan(variant), models.build_discriminator(variant)),
    ):
        assert len(plan) == len(model.layers)
        for spec, layer in zip(plan, model.layers, strict=True):
            assert layer.count_params() == spec.params, spec.label
            assert tuple(layer.output.shape[1:]) == spec.output_shape, spec.label
        assert model.count_params() == models.parameter_count(plan)


def test_dcgan_1_parameter_counts_worked_by_hand():
    variant = VARIANTS["dcgan-1"]
    dense = 100 * 7 * 7 * 128 + 7 * 7 * 128
    up_128 = 3 * 3 * 128 * 128 + 128
    up_64 = 3 * 3 * 128 * 64 + 64
    to_image = 3 * 3 * 64 * 1 + 1
    batch_norms = 4 * 128 + 4 * 64
    generator = dense + up_128 + up_64 + to_image + batch_norms
    assert models.parameter_count(models.generator_plan(variant)) == generator == 856193

    conv_64 = 3 * 3 * 1 * 64 + 64
    conv_128 = 3 * 3 * 64 * 128 + 128
    head = 7 * 7 * 128 + 1
    discriminator = conv_64 + conv_128 + 4 * 128 + head
    assert models.parameter_count(models.discriminator_plan(variant)) == discriminator


def test_dcgan_4_adds_a_block_to_both_networks():
    three = models.describe(VARIANTS["dcgan-3"])
    four = models.describe(VARIANTS["dcgan-4"])
    # conv + batch norm + leaky relu, in each network
    assert len(four) == len(three) + 6
    shapes = [row["output shape"] for row in four if row["network"] == "discriminator"]
    assert "4 x 4 x 256" in shapes


@pytest.mark.parametrize("name", list(VARIANTS))
def test_generator_draws_28x28_digits_in_the_variants_range(name):
    variant = VARIANTS[name]
    generator = models.build_generator(variant)
    latents = np.random.default_rng(0).standard_normal((5, 100)).astype("float32")
    drawn = models.generate(generator, latents, batch_size=2)
    assert drawn.shape == (5, 28, 28)
    low, high = variant.data_range
    assert drawn.min() >= low and drawn.max() <= high


def test_discriminator_outputs_a_probability_per_image():
    discriminator = models.build_discriminator(VARIANTS["dcgan-4"])
    scores = np.asarray(discriminator(np.zeros((3, 28, 28, 1), "float32")))
    assert scores.shape == (3, 1)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_two_threads_loading_tensorflow_at_once_both_get_their_model():
    # A job and a page may be first to need TensorFlow at the same moment.
    code = (
        "import threading\n"
        "from dcgan import models, variants\n"
        "results = []\n"
        "def build(name):\n"
        "    try:\n"
        "        models.build_generator(variants.VARIANTS[name])\n"
        "        results.append('ok')\n"
        "    except Exception as error:\n"
        "        results.append(repr(error))\n"
        "threads = [threading.Thread(target=build, args=(n,)) for n in "
        "('dcgan-3', 'dcgan-4')]\n"
        "[t.start() for t in threads]\n"
        "[t.join(120) for t in threads]\n"
        "print(results)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False,
        timeout=180, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "['ok', 'ok']", result.stderr


def _keras_and_fused_batch_norm():
    keras = backend.keras()
    plain = keras.layers.BatchNormalization()
    fused = models._fused_batch_norm()()
    for layer in (plain, fused):
        layer.build((None, 7, 7, 16))
        layer.gamma.assign(np.linspace(0.5, 2.0, 16))
        layer.beta.assign(np.linspace(-1.0, 1.0, 16))
    return plain, fused


def test_fused_batch_norm_trains_exactly_like_the_keras_layer():
    tf = backend.tensorflow()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(1.0, 3.0, (32, 7, 7, 16)).astype("float32"))
    upstream = tf.constant(rng.normal(size=(32, 7, 7, 16)).astype("float32"))
    results = []
    for layer in _keras_and_fused_batch_norm():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * upstream)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append(
            [layer(x, training=True)]
            + grads
            + [layer.moving_mean, layer.moving_variance]
        )
    plain, fused = results
    for name, a, b in zip(("y", "dx", "dgamma", "dbeta", "mean", "var"), plain, fused):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-4)


def test_fused_batch_norm_infers_with_the_moving_statistics():
    plain, fused = _keras_and_fused_batch_norm()
    for layer in (plain, fused):
        layer.moving_mean.assign(np.full(16, 0.5))
        layer.moving_variance.assign(np.full(16, 4.0))
    x = np.random.default_rng(1).normal(size=(4, 7, 7, 16)).astype("float32")
    np.testing.assert_allclose(fused(x, training=False), plain(x, training=False))


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_training_models_share_weights_with_the_plain_ones(precision):
    variant = VARIANTS["dcgan-4"]
    trained = models.build_generator(variant, precision)
    plain = models.build_generator(variant)
    assert trained.count_params() == plain.count_params()
    assert all(w.dtype == "float32" for w in trained.weights)
    plain.set_weights(trained.get_weights())

    latents = np.random.default_rng(2).standard_normal((3, 100)).astype("float32")
    drawn = np.asarray(trained(latents, training=False))
    assert drawn.dtype == np.float32  # the last layer computes in float32
    tolerance = 0.05 if precision == "bfloat16" else 1e-5
    np.testing.assert_allclose(drawn, plain(latents, training=False), atol=tolerance)

    discriminator = models.build_discriminator(variant, precision)
    scores = np.asarray(discriminator(np.zeros((2, 28, 28, 1), "float32")))
    assert scores.dtype == np.float32 and scores.shape == (2, 1)


def test_training_step_flops_of_dcgan_1_worked_by_hand():
    variant = VARIANTS["dcgan-1"]
    g_first = 100 * 7 * 7 * 128  # dense
    g_rest = 7 * 7 * 9 * 128 * 128 + 14 * 14 * 9 * 128 * 64 + 28 * 28 * 9 * 64
    d_first = 14 * 14 * 9 * 64  # conv 1 -> 64, stride 2
    d_rest = 7 * 7 * 9 * 64 * 128 + 7 * 7 * 128
    assert models.multiply_adds(models.generator_plan(variant), (100,)) == [
        g_first, 0, 7 * 7 * 9 * 128 * 128, 0, 0, 14 * 14 * 9 * 128 * 64, 0, 0,
        28 * 28 * 9 * 64, 0,
    ]  # fmt: skip
    # G: forward, weight and input gradients (none for the noise);
    # D: forward on real and fake, weight gradients on both, input gradients on
    # both but into the images, and once more on fake for the generator's loss.
    g = g_first + g_rest
    d = d_first + d_rest
    per_image = (3 * g - g_first) + (7 * d - 2 * d_first)
    assert models.training_step_flops(variant) == 2 * 128 * per_image
    bigger = VARIANTS["dcgan-4"]
    assert models.training_step_flops(bigger) > 4 * models.training_step_flops(variant)
