import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dcgan import models
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
