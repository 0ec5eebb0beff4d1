import numpy as np
import pytest

from dcgan import latent


def test_sample_is_fixed_by_its_seed():
    a = latent.sample(4, 100, seed=7)
    assert a.shape == (4, 100) and a.dtype == np.float32
    np.testing.assert_array_equal(a, latent.sample(4, 100, seed=7))
    assert not np.array_equal(a, latent.sample(4, 100, seed=8))


@pytest.mark.parametrize("function", [latent.lerp, latent.slerp])
def test_endpoints_are_exact(function):
    z0, z1 = latent.sample(2, 100, seed=0)
    np.testing.assert_array_equal(function(z0, z1, 0.0), z0)
    np.testing.assert_array_equal(function(z0, z1, 1.0), z1)


def test_slerp_keeps_gaussian_samples_on_their_shell():
    z0, z1 = latent.sample(2, 100, seed=1)
    middle_slerp = latent.slerp(z0, z1, 0.5)
    middle_lerp = latent.lerp(z0, z1, 0.5)
    expected = (np.linalg.norm(z0) + np.linalg.norm(z1)) / 2
    assert np.linalg.norm(middle_slerp) == pytest.approx(expected, rel=1e-6)
    # the straight line cuts through the inside of the shell
    assert np.linalg.norm(middle_lerp) < 0.8 * expected


def test_slerp_of_parallel_vectors_is_lerp_without_nan():
    z0 = latent.sample(1, 100, seed=2)[0]
    result = latent.slerp(z0, 3 * z0, 0.25)
    assert np.isfinite(result).all()
    np.testing.assert_allclose(result, latent.lerp(z0, 3 * z0, 0.25), rtol=1e-6)


def test_slerp_of_opposite_vectors_turns_half_a_circle_without_nan():
    z0 = latent.sample(1, 100, seed=3)[0]
    points = [latent.slerp(z0, -z0, t) for t in np.linspace(0, 1, 9)]
    assert all(np.isfinite(p).all() for p in points)
    norms = [np.linalg.norm(p) for p in points]
    np.testing.assert_allclose(norms, np.linalg.norm(z0), rtol=1e-5)
    # the middle point is at a right angle to both ends
    assert np.dot(points[4], z0) == pytest.approx(0.0, abs=1e-4)


def test_slerp_from_the_zero_vector_is_finite():
    z1 = latent.sample(1, 10, seed=4)[0]
    result = latent.slerp(np.zeros(10), z1, 0.5)
    np.testing.assert_allclose(result, z1 / 2, rtol=1e-6)


def test_walk_has_its_steps_and_exact_ends():
    z0, z1 = latent.sample(2, 100, seed=5)
    for method in latent.METHODS:
        path = latent.walk(z0, z1, 7, method)
        assert path.shape == (7, 100)
        np.testing.assert_array_equal(path[0], z0)
        np.testing.assert_array_equal(path[-1], z1)
    with pytest.raises(ValueError, match="method"):
        latent.walk(z0, z1, 5, "cubic")
    with pytest.raises(ValueError, match="2 steps"):
        latent.walk(z0, z1, 1)


def test_grid_has_the_four_corners_in_place():
    corners = latent.sample(4, 8, seed=6)
    points = latent.grid(corners, rows=3, cols=4).reshape(3, 4, 8)
    np.testing.assert_allclose(points[0, 0], corners[0])
    np.testing.assert_allclose(points[0, -1], corners[1])
    np.testing.assert_allclose(points[-1, 0], corners[2])
    np.testing.assert_allclose(points[-1, -1], corners[3])


def test_grid_points_between_corners_are_bilinear():
    corners = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 8.0], [4.0, 8.0]])
    points = latent.grid(corners, rows=3, cols=3).reshape(3, 3, 2)
    np.testing.assert_allclose(points[1, 1], [2.0, 4.0])
    np.testing.assert_allclose(points[0, 1], [2.0, 0.0])
    np.testing.assert_allclose(points[2, 1], [2.0, 8.0])
