"""The four DCGAN variants as data, and custom variants derived from them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

OUTPUT_ACTIVATIONS = ("tanh", "sigmoid")
KERNEL_SIZES = (3, 5)


class VariantError(ValueError):
    """A variant name or field a user gave that does not exist or is out of range."""


@dataclass(frozen=True)
class Variant:
    """Everything that defines a DCGAN variant: architecture and training settings.

    Defaults follow the post: latent size 100, Adam(2e-4, beta_1=0.5), batch 128,
    100 epochs, no label smoothing.
    """

    name: str
    title: str
    description: str
    output_activation: str = "tanh"
    kernel_size: int = 3
    extra_block: bool = False
    latent_dim: int = 100
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    batch_size: int = 128
    epochs: int = 100
    # Real images are labelled 1 - label_smoothing for the discriminator.
    label_smoothing: float = 0.0

    def __post_init__(self):
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise VariantError(
                f"output activation must be one of {OUTPUT_ACTIVATIONS}, "
                f"not {self.output_activation!r}"
            )
        if self.kernel_size not in KERNEL_SIZES:
            raise VariantError(f"kernel size must be one of {KERNEL_SIZES}")
        _check_range("latent_dim", self.latent_dim, 1, 1024)
        _check_range("learning_rate", self.learning_rate, 1e-6, 1e-1)
        _check_range("beta_1", self.beta_1, 0.0, 0.999)
        _check_range("batch_size", self.batch_size, 1, 4096)
        _check_range("epochs", self.epochs, 1, 10_000)
        _check_range("label_smoothing", self.label_smoothing, 0.0, 0.5)

    @property
    def data_range(self) -> tuple[float, float]:
        """The pixel range the generator draws in and real images are scaled to."""
        return (-1.0, 1.0) if self.output_activation == "tanh" else (0.0, 1.0)

    def derive(self, name: str, **changes) -> Variant:
        """A custom variant: this one with some fields changed.

        Under its own name it gets that name as title; under this variant's name
        (a changed batch size for one run, say) it keeps the title.
        """
        described = ", ".join(f"{key}={value}" for key, value in changes.items())
        return dataclasses.replace(
            self,
            name=name,
            title=self.title if name == self.name else name,
            description=f"{self.title} with {described}"
            if changes
            else self.description,
            **changes,
        )

    def to_dict(self) -> dict:
        """The variant as plain JSON-ready data, saved with every run."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Variant:
        """Rebuild a variant saved with a run; unknown keys are an error."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise VariantError(f"unknown variant fields: {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as error:  # a required field is missing
            raise VariantError(f"incomplete variant: {error}") from None


def _check_range(field: str, value, low, high) -> None:
    if not low <= value <= high:
        raise VariantError(f"{field} must be between {low} and {high}, not {value}")


DCGAN_1 = Variant(
    name="dcgan-1",
    title="DCGAN-1",
    description="The baseline: tanh output, images in [-1, 1], 3x3 kernels.",
)
DCGAN_2 = dataclasses.replace(
    DCGAN_1,
    name="dcgan-2",
    title="DCGAN-2",
    description="DCGAN-1 with a sigmoid output and images scaled to [0, 1].",
    output_activation="sigmoid",
)
DCGAN_3 = dataclasses.replace(
    DCGAN_2,
    name="dcgan-3",
    title="DCGAN-3",
    description="DCGAN-2 with 5x5 kernels in every convolution.",
    kernel_size=5,
)
DCGAN_4 = dataclasses.replace(
    DCGAN_3,
    name="dcgan-4",
    title="DCGAN-4",
    description="DCGAN-3 with one more convolutional block in both networks.",
    extra_block=True,
)

VARIANTS: dict[str, Variant] = {
    variant.name: variant for variant in (DCGAN_1, DCGAN_2, DCGAN_3, DCGAN_4)
}


def get_variant(name: str) -> Variant:
    """The registered variant called `name` (case-insensitive)."""
    variant = VARIANTS.get(name.strip().lower())
    if variant is None:
        raise VariantError(
            f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}"
        )
    return variant
