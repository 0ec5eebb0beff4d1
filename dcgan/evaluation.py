"""The digit classifier and the quality measures built on it.

The classifier is a small CNN trained on MNIST's training set; its predictions say
which digits a generator draws and how clearly, and its penultimate layer gives the
features for a Fréchet distance to MNIST's test set (lower is closer).

Recognisable digits, 0 to 10: a digit counts when at least `MIN_SHARE` of the
samples are classified as it with confidence of at least `MIN_CONFIDENCE`. A
generator drawing all ten digits evenly and clearly gives each about 10%, so 2%
(a fifth of that) leaves room for uneven but real coverage, while a digit drawn
only by accident, or only as a blur, does not count.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dcgan import backend
from dcgan.data import Mnist, scale_images
from dcgan.training import Callback

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CLASSIFIER_PATH = ASSETS / "classifier.npz"
MIN_CONFIDENCE = 0.9
MIN_SHARE = 0.02
DIGITS = 10
# Measured after every epoch of training: enough digits for a stable count, few
# enough to cost about a second against an epoch of minutes.
EPOCH_SAMPLES = 500
EPOCH_SEED = 12345
FEATURE_LAYER = "features"
RECOGNISABLE_RULE = (
    f"a digit counts as recognisable when at least {MIN_SHARE:.0%} of the samples "
    f"are classified as it with at least {MIN_CONFIDENCE:.0%} confidence"
)


class ClassifierError(Exception):
    """The shipped classifier is missing or unreadable."""


def build_classifier():
    """A small CNN: (n, 28, 28, 1) pixels in [0, 1] to 10 digit probabilities."""
    keras = backend.keras()
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(128, activation="relu", name=FEATURE_LAYER),
            layers.Dropout(0.25),
            layers.Dense(DIGITS, activation="softmax"),
        ],
        name="digit_classifier",
    )


@dataclass(frozen=True)
class ClassifierCard:
    """How the shipped classifier was trained and how well it does."""

    epochs: int
    seed: int
    batch_size: int
    test_accuracy: float
    train_seconds: float
    data_source: str


class DigitClassifier:
    """The trained classifier and MNIST test-set feature statistics."""

    def __init__(self, model, card: ClassifierCard, test_mean, test_cov):
        keras = backend.keras()
        self.model = model
        self.card = card
        self.test_mean = test_mean
        self.test_cov = test_cov
        self._features = keras.Model(
            model.inputs[0], [model.get_layer(FEATURE_LAYER).output, model.outputs[0]]
        )

    def predict(self, pixels: np.ndarray, batch_size: int = 500):
        """uint8 digits (n, 28, 28) to (probabilities (n, 10), features (n, 128))."""
        inputs = scale_images(pixels, (0.0, 1.0))
        probabilities, features = [], []
        for start in range(0, len(inputs), batch_size):
            feature, probability = self._features(
                inputs[start : start + batch_size], training=False
            )
            features.append(np.asarray(feature, dtype=np.float64))
            probabilities.append(np.asarray(probability, dtype=np.float64))
        return np.concatenate(probabilities), np.concatenate(features)

    def save(self, path: Path = CLASSIFIER_PATH) -> None:
        """Weights, test statistics and the card in one .npz."""
        arrays = {f"w/{i}": w for i, w in enumerate(self.model.get_weights())}
        arrays.update(
            test_mean=self.test_mean,
            test_cov=self.test_cov,
            card=np.array(json.dumps(asdict(self.card))),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)


def train_classifier(
    mnist: Mnist, epochs: int = 3, seed: int = 0, batch_size: int = 128
) -> DigitClassifier:
    """Train the classifier on MNIST train; report accuracy on MNIST test."""
    import time

    keras = backend.keras()
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    train_x = scale_images(mnist.train_images, (0.0, 1.0))
    test_x = scale_images(mnist.test_images, (0.0, 1.0))
    started = time.monotonic()
    model.fit(
        train_x, mnist.train_labels, batch_size=batch_size, epochs=epochs, verbose=2
    )
    seconds = time.monotonic() - started
    _, accuracy = model.evaluate(test_x, mnist.test_labels, verbose=0)
    card = ClassifierCard(
        epochs, seed, batch_size, round(float(accuracy), 4), round(seconds, 1),
        mnist.source,
    )  # fmt: skip
    classifier = DigitClassifier(model, card, np.zeros(128), np.eye(128))
    _, features = classifier.predict(mnist.test_images)
    classifier.test_mean = features.mean(axis=0)
    classifier.test_cov = np.cov(features, rowvar=False)
    return classifier


_loaded: dict[Path, DigitClassifier] = {}


def load_classifier(path: Path = CLASSIFIER_PATH) -> DigitClassifier:
    """The shipped classifier, loaded once per process."""
    path = Path(path)
    if path in _loaded:
        return _loaded[path]
    if not path.exists():
        raise ClassifierError(
            f"no digit classifier at {path}; run `python -m dcgan classifier train`"
        )
    model = build_classifier()
    try:
        with np.load(path, allow_pickle=False) as arrays:
            model.set_weights([arrays[f"w/{i}"] for i in range(len(model.weights))])
            card = ClassifierCard(**json.loads(str(arrays["card"])))
            classifier = DigitClassifier(
                model, card, arrays["test_mean"], arrays["test_cov"]
            )
    except (OSError, KeyError, ValueError) as error:
        raise ClassifierError(f"cannot read {path}: {error}") from None
    _loaded[path] = classifier
    return classifier


def accuracy_on_test_set(classifier: DigitClassifier, mnist: Mnist) -> float:
    """Share of MNIST test digits the classifier gets right."""
    probabilities, _ = classifier.predict(mnist.test_images)
    return float((probabilities.argmax(axis=1) == mnist.test_labels).mean())


# -- quality measures -------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    """How well a set of digits looks like MNIST, to the classifier."""

    recognisable_digits: int
    class_histogram: list[int]
    mean_confidence: float
    frechet_distance: float
    samples: int

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        return asdict(self)


def recognisable(probabilities: np.ndarray) -> tuple[int, np.ndarray]:
    """(recognisable digit count, per-digit count of confident samples)."""
    confident = probabilities.max(axis=1) >= MIN_CONFIDENCE
    labels = probabilities.argmax(axis=1)[confident]
    counts = np.bincount(labels, minlength=DIGITS)
    return int((counts >= MIN_SHARE * len(probabilities)).sum()), counts


def frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float:
    """Fréchet distance of two Gaussians: |mu_a - mu_b|^2 + Tr(A + B - 2 sqrt(AB)).

    Tr(sqrt(AB)) is the sum of square roots of the eigenvalues of
    sqrt(A) B sqrt(A), which is symmetric, so only symmetric eigensolvers are used.
    """
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None))
    difference = np.asarray(mean_a) - np.asarray(mean_b)
    distance = difference @ difference + np.trace(cov_a) + np.trace(cov_b)
    return float(max(0.0, distance - 2 * trace_root.sum()))


def measure(classifier: DigitClassifier, pixels: np.ndarray) -> Quality:
    """Quality of uint8 digits (n, 28, 28)."""
    probabilities, features = classifier.predict(pixels)
    count, _ = recognisable(probabilities)
    histogram = np.bincount(probabilities.argmax(axis=1), minlength=DIGITS)
    distance = frechet_distance(
        features.mean(axis=0),
        np.cov(features, rowvar=False),
        classifier.test_mean,
        classifier.test_cov,
    )
    return Quality(
        recognisable_digits=count,
        class_histogram=[int(n) for n in histogram],
        mean_confidence=round(float(probabilities.max(axis=1).mean()), 4),
        frechet_distance=round(distance, 3),
        samples=len(pixels),
    )


def draw(name: str, runs_dir, n: int, seed: int, folder=None) -> np.ndarray:
    """`n` uint8 digits (n, 28, 28) from generator `name`, latents fixed by `seed`.

    `folder` holds the shipped generators (assets/pretrained when None).
    """
    from dcgan import generators, latent, models

    folder = folder or generators.PRETRAINED_DIR
    generator, variant = generators.load(name, runs_dir, folder)
    latents = latent.sample(n, variant.latent_dim, seed)
    return models.draw_digits(generator, variant, latents)


def evaluate_generator(name: str, runs_dir, n: int = 1000, seed: int = 0) -> Quality:
    """Quality of `n` digits from generator `name` (a run or pretrained:<variant>)."""
    return measure(load_classifier(), draw(name, runs_dir, n, seed))


class EpochQuality(Callback):
    """After each epoch, measures the run's digits and appends them to metrics.csv.

    Without a classifier (assets/classifier.npz missing) it does nothing.
    """

    def __init__(self, samples: int = EPOCH_SAMPLES, seed: int = EPOCH_SEED):
        self.samples = samples
        self.seed = seed

    def on_epoch_end(self, logs):
        """Measure the generator's digits now and log them for this epoch."""
        from dcgan import latent

        trainer = self.trainer
        variant = trainer.variant
        try:
            classifier = load_classifier()
            latents = latent.sample(self.samples, variant.latent_dim, self.seed)
            drawn = trainer.draw(latents)
            quality = measure(classifier, drawn)
        # A measure that fails costs this epoch's point on the curve, not the run.
        except Exception as error:  # noqa: BLE001
            logger.warning(
                "no quality measures after epoch %s: %s", logs["epoch"], error
            )
            return
        trainer.run.append_metrics(
            {"epoch": logs["epoch"], "step": logs["step"], **quality.to_dict()}
        )


def activation_verdict(tanh: Quality, sigmoid: Quality) -> str:
    """One sentence, from the numbers, on whether tanh to sigmoid mattered here."""
    digits_change = sigmoid.recognisable_digits - tanh.recognisable_digits
    ratio = tanh.frechet_distance / max(sigmoid.frechet_distance, 1e-9)
    numbers = (
        f"DCGAN-1 (tanh) draws {tanh.recognisable_digits}/10 digits recognisably at "
        f"a Fréchet distance of {tanh.frechet_distance:.1f}; DCGAN-2 (sigmoid) "
        f"draws {sigmoid.recognisable_digits}/10 at {sigmoid.frechet_distance:.1f}"
    )
    if digits_change >= 2 or ratio >= 1.5:
        return f"{numbers}: here, switching tanh to sigmoid clearly helped."
    if digits_change <= -2 or ratio <= 1 / 1.5:
        return f"{numbers}: here, switching tanh to sigmoid made things worse."
    return f"{numbers}: here, switching tanh to sigmoid made little difference."
