"""Latent-space maths: sampling by seed, lerp, slerp, walks and grids (NumPy only)."""

from __future__ import annotations

import numpy as np

# Below this angle (radians) two directions count as parallel and slerp is lerp.
PARALLEL_ANGLE = 1e-6
METHODS = ("lerp", "slerp")


def sample(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """`n` standard-normal latent vectors, shape (n, latent_dim), fixed by `seed`."""
    return (
        np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)
    )


def lerp(z0: np.ndarray, z1: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction `t` of the straight line from z0 to z1."""
    return (1.0 - t) * z0 + t * z1


def slerp(z0: np.ndarray, z1: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction `t` along the great circle from z0 to z1.

    The direction turns at a constant rate and the length changes linearly from
    |z0| to |z1|, so a walk between two typical Gaussian samples stays in the
    shell where such samples live (a straight line cuts inside it). The endpoints
    are returned exactly. Nearly parallel vectors fall back to lerp; for opposite
    vectors every great circle is as short as any other, and a fixed one is taken.
    """
    if t == 0:
        return np.array(z0, copy=True)
    if t == 1:
        return np.array(z1, copy=True)
    z0 = np.asarray(z0, dtype=np.float64)
    z1 = np.asarray(z1, dtype=np.float64)
    norm0, norm1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if norm0 == 0 or norm1 == 0:
        return lerp(z0, z1, t)
    u0, u1 = z0 / norm0, z1 / norm1
    angle = float(np.arccos(np.clip(np.dot(u0, u1), -1.0, 1.0)))
    if angle < PARALLEL_ANGLE:
        return lerp(z0, z1, t)

    # A unit vector orthogonal to u0 in the plane of the turn.
    if np.pi - angle < PARALLEL_ANGLE:
        axis = np.zeros_like(u0)
        axis[np.argmin(np.abs(u0))] = 1.0
        orthogonal = axis - np.dot(axis, u0) * u0
    else:
        orthogonal = u1 - np.cos(angle) * u0
    orthogonal /= np.linalg.norm(orthogonal)

    direction = np.cos(t * angle) * u0 + np.sin(t * angle) * orthogonal
    return ((1.0 - t) * norm0 + t * norm1) * direction


def walk(z0: np.ndarray, z1: np.ndarray, steps: int, method: str = "slerp"):
    """`steps` evenly spaced points from z0 to z1 inclusive, shape (steps, dim)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if steps < 2:
        raise ValueError("a walk needs at least 2 steps")
    step = lerp if method == "lerp" else slerp
    points = [step(z0, z1, t) for t in np.linspace(0.0, 1.0, steps)]
    points[0], points[-1] = np.array(z0), np.array(z1)
    return np.stack(points).astype(np.float32)


def grid(corners: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Bilinear grid between four corners (top-left, top-right, bottom-left,
    bottom-right), shape (rows * cols, dim), row by row."""
    top_left, top_right, bottom_left, bottom_right = corners
    points = []
    for v in np.linspace(0.0, 1.0, rows):
        left = lerp(top_left, bottom_left, v)
        right = lerp(top_right, bottom_right, v)
        points.extend(lerp(left, right, u) for u in np.linspace(0.0, 1.0, cols))
    return np.stack(points).astype(np.float32)
