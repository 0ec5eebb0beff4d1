import numpy as np
import pytest

from dcgan import evaluation
from dcgan.data import load_mnist
from dcgan.evaluation import Quality, frechet_distance, measure


@pytest.fixture(scope="module")
def classifier():
    return evaluation.load_classifier()


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_the_shipped_classifier_reaches_99_percent_on_mnist_test(classifier, mnist):
    assert classifier.card.test_accuracy >= 0.99
    assert evaluation.accuracy_on_test_set(classifier, mnist) >= 0.99


def test_real_digits_score_ten_and_a_frechet_distance_near_zero(classifier, mnist):
    quality = measure(classifier, mnist.train_images[:2000])
    assert quality.recognisable_digits == 10
    assert quality.mean_confidence > 0.95
    # Real training digits against test statistics: close, far below the ~370 of
    # a generator that draws one digit (next test).
    assert quality.frechet_distance < 10
    assert sum(quality.class_histogram) == 2000


def test_a_generator_that_draws_one_digit_scores_one(classifier, mnist):
    only_sevens = mnist.train_images[mnist.train_labels == 7][:1000]
    quality = measure(classifier, only_sevens)
    assert quality.recognisable_digits == 1
    assert np.argmax(quality.class_histogram) == 7
    assert quality.frechet_distance > 100


def test_noise_scores_no_recognisable_digit(classifier):
    noise = np.random.default_rng(0).integers(0, 256, (500, 28, 28), dtype=np.uint8)
    quality = measure(classifier, noise)
    assert quality.recognisable_digits == 0
    assert quality.mean_confidence < 0.6


def test_the_recognisable_rule_needs_confidence_and_a_fair_share():
    confident_three = np.eye(10)[3]
    unsure_five = np.full(10, 0.05) + np.eye(10)[5] * 0.5
    probabilities = np.stack([confident_three] * 30 + [unsure_five] * 970)
    count, counts = evaluation.recognisable(probabilities)
    assert count == 1 and counts[3] == 30 and counts[5] == 0
    # 1% confident samples are below the 2% share
    probabilities = np.stack([confident_three] * 10 + [unsure_five] * 990)
    assert evaluation.recognisable(probabilities)[0] == 0


def test_frechet_distance_of_known_gaussians():
    identity = np.eye(3)
    assert frechet_distance(np.zeros(3), identity, np.zeros(3), identity) == (
        pytest.approx(0.0, abs=1e-9)
    )
    # Shifted mean: |mu|^2. Scaled covariance 4I vs I: 3 * (1 + 4 - 2 * 2) = 3.
    assert frechet_distance(np.ones(3), identity, np.zeros(3), identity) == (
        pytest.approx(3.0)
    )
    assert frechet_distance(np.zeros(3), 4 * identity, np.zeros(3), identity) == (
        pytest.approx(3.0)
    )


def quality(digits, distance):
    return Quality(digits, [0] * 10, 0.9, distance, 1000)


def test_the_activation_verdict_follows_the_numbers():
    assert "clearly helped" in evaluation.activation_verdict(
        quality(2, 80.0), quality(10, 20.0)
    )
    assert "little difference" in evaluation.activation_verdict(
        quality(9, 21.0), quality(10, 20.0)
    )
    assert "made things worse" in evaluation.activation_verdict(
        quality(10, 20.0), quality(6, 60.0)
    )


def test_frechet_distance_matches_a_matrix_square_root_reference():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5, 5))
    cov_a, cov_b = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mean_a, mean_b = rng.standard_normal((2, 5))
    root = linalg.sqrtm(cov_a @ cov_b).real
    expected = (mean_a - mean_b) @ (mean_a - mean_b) + np.trace(
        cov_a + cov_b - 2 * root
    )
    assert frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected)
    assert frechet_distance(mean_b, cov_b, mean_a, cov_a) == pytest.approx(expected)
