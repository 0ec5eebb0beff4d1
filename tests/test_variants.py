import dataclasses

import pytest

from dcgan.variants import VARIANTS, Variant, VariantError, get_variant


def test_registry_holds_the_four_variants_of_the_post():
    assert list(VARIANTS) == ["dcgan-1", "dcgan-2", "dcgan-3", "dcgan-4"]
    one, two, three, four = VARIANTS.values()
    assert (one.output_activation, one.data_range) == ("tanh", (-1.0, 1.0))
    assert (two.output_activation, two.data_range) == ("sigmoid", (0.0, 1.0))
    assert (two.kernel_size, three.kernel_size, four.kernel_size) == (3, 5, 5)
    assert [v.extra_block for v in VARIANTS.values()] == [False, False, False, True]


def test_every_variant_uses_the_posts_training_settings():
    for variant in VARIANTS.values():
        assert variant.latent_dim == 100
        assert variant.learning_rate == 2e-4
        assert variant.beta_1 == 0.5
        assert variant.batch_size == 128
        assert variant.epochs == 100


def test_variants_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        VARIANTS["dcgan-1"].kernel_size = 5


def test_get_variant_names_the_choices_when_unknown():
    assert get_variant(" DCGAN-3 ") is VARIANTS["dcgan-3"]
    with pytest.raises(VariantError, match="dcgan-1, dcgan-2, dcgan-3, dcgan-4"):
        get_variant("dcgan-9")


def test_derived_variant_keeps_the_rest_and_round_trips_through_a_dict():
    custom = VARIANTS["dcgan-2"].derive("small-batch", batch_size=32)
    assert custom.batch_size == 32
    assert custom.kernel_size == 3
    assert "batch_size=32" in custom.description
    assert Variant.from_dict(custom.to_dict()) == custom


@pytest.mark.parametrize(
    "changes",
    [
        {"output_activation": "relu"},
        {"kernel_size": 4},
        {"batch_size": 0},
        {"learning_rate": 2.0},
        {"label_smoothing": 0.9},
    ],
)
def test_out_of_range_fields_are_refused(changes):
    with pytest.raises(VariantError):
        VARIANTS["dcgan-1"].derive("bad", **changes)


def test_unknown_fields_in_a_saved_variant_are_refused():
    data = VARIANTS["dcgan-1"].to_dict() | {"dropout": 0.3}
    with pytest.raises(VariantError, match="dropout"):
        Variant.from_dict(data)
