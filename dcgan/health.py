"""Plain-words warnings about a run's training, read from its curves.

Each check looks at the history (one row per step) or the per-epoch measures and
returns a sentence when something looks wrong, or nothing. The thresholds are
rules of thumb for these small DCGANs on MNIST, not laws.
"""

from __future__ import annotations

import numpy as np

# The discriminator "wins" when its loss stays near zero: below this, over at
# least this many steps (about half an epoch at batch 128).
D_WINNING_LOSS = 0.05
D_WINNING_STEPS = 200
# The generator's loss "keeps climbing" when each of the last few windows of
# steps averages this much more than the one before.
G_CLIMB_WINDOW_STEPS = 200
G_CLIMB_WINDOWS = 3
G_CLIMB_RATIO = 1.15
# Recognisable digits "fall" when the latest epoch has this many fewer than the
# best epoch so far.
DIGITS_DROP = 2


def discriminator_winning(history: dict) -> str | None:
    """A warning when D's loss has stayed near zero for a sustained stretch."""
    d_loss = history["d_loss"]
    if len(d_loss) < D_WINNING_STEPS:
        return None
    recent = d_loss[-D_WINNING_STEPS:]
    if recent.max() >= D_WINNING_LOSS:
        return None
    return (
        f"The discriminator is winning: its loss has stayed below {D_WINNING_LOSS} "
        f"for the last {D_WINNING_STEPS} steps, so it tells real from generated "
        "digits every time and the generator gets little to learn from."
    )


def generator_climbing(history: dict) -> str | None:
    """A warning when G's loss rises window after window."""
    g_loss = history["g_loss"]
    needed = G_CLIMB_WINDOW_STEPS * (G_CLIMB_WINDOWS + 1)
    if len(g_loss) < needed:
        return None
    windows = g_loss[-needed:].reshape(G_CLIMB_WINDOWS + 1, G_CLIMB_WINDOW_STEPS)
    means = windows.mean(axis=1)
    if not np.all(means[1:] >= G_CLIMB_RATIO * means[:-1]):
        return None
    return (
        f"The generator's loss keeps climbing: from {means[0]:.2f} to "
        f"{means[-1]:.2f} over the last {needed} steps. The discriminator is "
        "pulling ahead and the generator is not catching up."
    )


def digits_falling(metrics: dict) -> str | None:
    """A warning when recognisable digits drop well below their best epoch."""
    digits = metrics["recognisable_digits"]
    if len(digits) < 2:
        return None
    best = int(np.argmax(digits))
    if digits[-1] > digits[best] - DIGITS_DROP:
        return None
    return (
        f"Recognisable digits fell from {digits[best]} (epoch "
        f"{metrics['epoch'][best]}) to {digits[-1]} (epoch {metrics['epoch'][-1]}): "
        "the generator may be collapsing onto fewer digits (mode collapse)."
    )


def warnings(history: dict, metrics: dict) -> list[str]:
    """Every warning that applies to a run now, most urgent first."""
    checks = (
        digits_falling(metrics),
        discriminator_winning(history),
        generator_climbing(history),
    )
    return [message for message in checks if message]
