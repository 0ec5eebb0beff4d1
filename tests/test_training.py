import json

import numpy as np
import pytest

from dcgan import backend
from dcgan.generators import load_run_generator
from dcgan.training import Callback, Control, GanTrainer, resolve_precision

from .conftest import assert_continuous, create_run


class StopAt(Callback):
    """Asks the loop to stop (or pause) once it reaches a step."""

    def __init__(self, control, step, action="stop"):
        self.control, self.step, self.action = control, step, action

    def on_step_end(self, logs):
        if logs["step"] == self.step:
            getattr(self.control, self.action)()


def test_a_few_real_steps_write_history_checkpoint_samples_and_generator(
    runs_dir, mnist_slice
):
    run = create_run(runs_dir, variant="dcgan-1", max_steps=4)
    assert GanTrainer(run, mnist_slice).fit() == "finished"

    assert_continuous(run.read_history(), 4)
    assert run.latest_checkpoint().step == 4
    assert run.latest_sample_path().exists()
    assert run.generator_path.exists()
    config = run.read_config()
    assert config["status"] == "finished"
    assert (config["step"], config["steps_per_epoch"]) == (4, 1024 // 128)


def test_an_epoch_ends_with_its_sample_grid(runs_dir, mnist_slice):
    # batch 256 over 1024 slice images: 4 steps per epoch
    run = create_run(runs_dir, batch_size=256, epochs=2)
    GanTrainer(run, mnist_slice).fit()
    history = run.read_history()
    assert_continuous(history, 8)
    np.testing.assert_array_equal(history["epoch"], [1] * 4 + [2] * 4)
    assert [p.name for p in run.epoch_samples()] == ["epoch-0001.png", "epoch-0002.png"]


def test_stop_and_resume_give_a_continuous_history_and_the_same_optimizer_steps(
    runs_dir, mnist_slice
):
    run = create_run(runs_dir, epochs=2, max_steps=10)
    control = Control()
    first = GanTrainer(run, mnist_slice, control, [StopAt(control, 3)])
    assert first.fit() == "stopped"
    assert run.read_config()["status"] == "stopped"
    assert run.latest_checkpoint().step == 3

    second = GanTrainer(run, mnist_slice)
    assert second.fit() == "finished"
    history = run.read_history()
    assert_continuous(history, 10)
    assert int(second.g_optimizer.iterations.numpy()) == 10
    assert int(second.d_optimizer.iterations.numpy()) == 10


def test_resumed_training_continues_exactly_where_it_stopped(runs_dir, mnist_slice):
    straight = create_run(runs_dir, "straight", max_steps=6)
    GanTrainer(straight, mnist_slice).fit()

    split = create_run(runs_dir, "split", max_steps=6)
    control = Control()
    GanTrainer(split, mnist_slice, control, [StopAt(control, 3)]).fit()
    GanTrainer(split, mnist_slice).fit()

    # Same batches, same noise, same weights: the same losses, to float tolerance.
    for column in ("d_loss", "g_loss"):
        np.testing.assert_allclose(
            split.read_history()[column], straight.read_history()[column], rtol=1e-4
        )


def test_a_killed_run_resumes_without_duplicated_or_lost_history(runs_dir, mnist_slice):
    run = create_run(runs_dir, max_steps=8)
    control = Control()
    GanTrainer(run, mnist_slice, control, [StopAt(control, 4)]).fit()
    # As if the process died after logging steps 5-6 but before checkpointing them.
    rows = [
        {"step": s, "epoch": 1, "d_loss": 9, "g_loss": 9, "d_real_acc": 0,
         "d_fake_acc": 0, "elapsed_s": 99}
        for s in (5, 6)
    ]  # fmt: skip
    run.append_history(rows)
    run.update_config(status="running")

    GanTrainer(run, mnist_slice).fit()
    history = run.read_history()
    assert_continuous(history, 8)
    assert 9 not in history["d_loss"]


def test_pause_waits_and_is_excluded_from_elapsed_time(runs_dir, mnist_slice):
    import threading
    import time

    run = create_run(runs_dir, max_steps=4)
    control = Control()
    paused = threading.Event()

    class Watch(Callback):
        def on_pause(self, is_paused):
            if is_paused:
                paused.set()

    trainer = GanTrainer(
        run, mnist_slice, control, [StopAt(control, 2, "pause"), Watch()]
    )
    thread = threading.Thread(target=trainer.fit)
    thread.start()
    assert paused.wait(timeout=60)
    assert run.read_config()["status"] == "paused"
    assert run.latest_checkpoint().step == 2
    time.sleep(1.5)  # a deliberate pause, to see it left out of elapsed_s
    control.resume()
    thread.join(timeout=60)
    assert not thread.is_alive()
    history = run.read_history()
    assert_continuous(history, 4)
    assert history["elapsed_s"][2] - history["elapsed_s"][1] < 1.5


def test_load_run_generator_rebuilds_the_run_generator(runs_dir, mnist_slice):
    run = create_run(runs_dir, max_steps=2)
    trainer = GanTrainer(run, mnist_slice)
    trainer.fit()
    generator, variant = load_run_generator(run)
    assert variant.name == "dcgan-2"
    latents = trainer.sample_latents[:4]
    np.testing.assert_allclose(
        np.asarray(generator(latents, training=False)),
        np.asarray(trainer.generator(latents, training=False)),
        rtol=1e-6,
    )


def test_a_batch_larger_than_the_data_is_refused(runs_dir, mnist_slice):
    run = create_run(runs_dir, batch_size=2048)
    with pytest.raises(ValueError, match="larger than the 1024 training images"):
        GanTrainer(run, mnist_slice)


def test_checkpoint_holds_networks_optimizers_rng_and_position(runs_dir, mnist_slice):
    run = create_run(runs_dir, max_steps=2)
    GanTrainer(run, mnist_slice).fit()
    with np.load(run.latest_checkpoint().path) as arrays:
        prefixes = {key.split("/")[0] for key in arrays.files}
        meta = json.loads(str(arrays["meta"]))
    assert {"generator", "discriminator", "g_optimizer", "d_optimizer"} <= prefixes
    assert "rng_state" in prefixes
    assert meta["step"] == 2 and meta["epoch"] == 1 and meta["elapsed_s"] > 0


def test_resume_skips_a_damaged_newest_checkpoint(runs_dir, mnist_slice):
    run = create_run(runs_dir, epochs=2, max_steps=9)
    control = Control()
    GanTrainer(run, mnist_slice, control, [StopAt(control, 3)]).fit()
    control = Control()
    GanTrainer(run, mnist_slice, control, [StopAt(control, 6)]).fit()
    run.latest_checkpoint().path.write_bytes(b"cut short by a crash")

    GanTrainer(run, mnist_slice).fit()
    assert_continuous(run.read_history(), 9)
    assert sorted(p.name for p in run.checkpoints_dir.glob("*.damaged")) == [
        "step-00000006.damaged"
    ]


def test_a_bfloat16_run_trains_records_its_precision_and_exports_float32(
    runs_dir, mnist_slice
):
    run = create_run(runs_dir, max_steps=3, precision="bfloat16")
    trainer = GanTrainer(run, mnist_slice)
    assert trainer.fit() == "finished"
    assert_continuous(run.read_history(), 3)
    assert run.read_config()["precision"] == "bfloat16"
    # The exported generator is a plain float32 model with the trained weights.
    exported = backend.keras().models.load_model(run.generator_path)
    assert all(w.dtype == "float32" for w in exported.weights)
    for saved, trained in zip(exported.weights, trainer.generator.weights, strict=True):
        np.testing.assert_array_equal(saved.numpy(), trained.numpy())


def test_auto_precision_is_resolved_and_recorded(runs_dir, mnist_slice):
    run = create_run(runs_dir, max_steps=1, precision="auto")
    GanTrainer(run, mnist_slice).fit()
    assert run.read_config()["precision"] == resolve_precision("auto")
    assert resolve_precision("auto") in ("float32", "bfloat16")


def test_a_run_without_a_precision_trains_in_float32(runs_dir, mnist_slice):
    run = create_run(runs_dir, max_steps=1)
    assert "precision" not in run.read_config()
    assert GanTrainer(run, mnist_slice).precision == "float32"


def test_an_unknown_precision_is_refused(runs_dir, mnist_slice):
    with pytest.raises(ValueError, match="precision 'float8' is not one of auto"):
        GanTrainer(create_run(runs_dir, precision="float8"), mnist_slice)


def test_the_xla_compiled_step_trains_and_resumes_exactly(runs_dir, mnist_slice):
    straight = create_run(runs_dir, "straight", max_steps=4)
    trainer = GanTrainer(straight, mnist_slice, xla=True)
    trainer.fit()
    assert trainer.xla  # compiled, not fallen back

    split = create_run(runs_dir, "split", max_steps=4)
    control = Control()
    GanTrainer(split, mnist_slice, control, [StopAt(control, 2)], xla=True).fit()
    GanTrainer(split, mnist_slice, xla=True).fit()
    history = split.read_history()
    assert_continuous(history, 4)
    for column in ("d_loss", "g_loss"):
        np.testing.assert_allclose(
            history[column], straight.read_history()[column], rtol=1e-4
        )
