import numpy as np

from dcgan import health


def history(d_loss, g_loss):
    steps = np.arange(1, len(d_loss) + 1)
    return {"step": steps, "d_loss": np.asarray(d_loss), "g_loss": np.asarray(g_loss)}


def metrics(digits):
    return {
        "epoch": np.arange(1, len(digits) + 1),
        "recognisable_digits": np.asarray(digits),
    }


def test_a_healthy_run_gets_no_warning():
    rng = np.random.default_rng(0)
    d_loss = 0.55 + 0.05 * rng.standard_normal(2000)
    g_loss = 1.0 + 0.1 * rng.standard_normal(2000)
    assert health.warnings(history(d_loss, g_loss), metrics([3, 6, 8, 9, 9])) == []


def test_a_discriminator_near_zero_loss_for_long_is_winning():
    d_loss = np.concatenate([np.full(500, 0.5), np.full(300, 0.01)])
    message = health.discriminator_winning(history(d_loss, np.ones(800)))
    assert message and "discriminator is winning" in message
    # a short dip is not a sustained stretch
    d_loss = np.concatenate([np.full(700, 0.5), np.full(100, 0.01)])
    assert health.discriminator_winning(history(d_loss, np.ones(800))) is None


def test_a_generator_loss_that_keeps_rising_is_flagged():
    g_loss = np.linspace(1.0, 4.0, 1000)
    message = health.generator_climbing(history(np.full(1000, 0.3), g_loss))
    assert message and "keeps climbing" in message
    noisy_flat = 2.0 + 0.2 * np.random.default_rng(1).standard_normal(1000)
    assert health.generator_climbing(history(np.full(1000, 0.3), noisy_flat)) is None


def test_falling_recognisable_digits_suggest_mode_collapse():
    message = health.digits_falling(metrics([4, 8, 10, 9, 6]))
    assert message and "from 10 (epoch 3) to 6 (epoch 5)" in message
    assert "mode collapse" in message
    assert health.digits_falling(metrics([4, 8, 10, 9])) is None
    assert health.digits_falling(metrics([])) is None
