"""The GAN train step and the training loop: pause, stop, checkpoint, resume.

A run trains what its run.json says. Progress is the global step (1, 2, ...); an
epoch is `steps_per_epoch` = len(train images) // batch_size steps (the last,
partial batch of an epoch is dropped so every step sees a full batch). The order
of images in an epoch is fixed by (seed, epoch), so a resumed run draws the same
batches the uninterrupted run would have.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import numpy as np

from dcgan import backend, images, latent, models
from dcgan.data import Mnist, scale_images
from dcgan.runs import Run, write_atomic
from dcgan.variants import Variant

logger = logging.getLogger(__name__)

SAMPLE_COUNT = 64  # an 8x8 grid of digits, the same latent vectors all run long
HISTORY_FLUSH_S = 1.0  # how stale history.csv may get while training
CHECKPOINT_INTERVAL_S = 60.0  # a kill loses at most about this much training
PREVIEW_INTERVAL_S = 5.0  # how often samples/latest.png is redrawn mid-epoch
PRECISION_CHOICES = ("auto",) + models.PRECISIONS


class Control:
    """Pause, resume and stop signals from a job (or Ctrl-C) to a training loop."""

    def __init__(self):
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        """Ask the loop to wait after its current step."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused loop go on."""
        self._running.set()

    def stop(self) -> None:
        """Ask the loop to checkpoint and return after its current step."""
        self._stop.set()
        self._running.set()  # a paused loop wakes up to stop

    @property
    def paused(self) -> bool:
        """Whether a pause has been asked for and not yet lifted."""
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        """Whether stop() has been called."""
        return self._stop.is_set()

    def wait_while_paused(self) -> None:
        """Block (using no CPU) until resumed or stopped."""
        self._running.wait()


class Callback:
    """Hooks a training loop calls; the one bridge from training to the outside.

    The trainer sets `trainer` on each of its callbacks, so a callback can draw
    from the generator or write to the run.
    """

    trainer: GanTrainer | None = None

    def on_train_begin(self, logs: dict) -> None:
        """Called once the models are built and the run restored."""

    def on_step_end(self, logs: dict) -> None:
        """Called after every step with its losses and position."""

    def on_pause(self, paused: bool) -> None:
        """Called when the loop starts or stops waiting on a pause."""

    def on_epoch_end(self, logs: dict) -> None:
        """Called after the last step of an epoch, once its samples are saved."""

    def on_train_end(self, logs: dict) -> None:
        """Called when the loop returns, with logs['reason'] 'finished' or 'stopped'."""


def steps_per_epoch(train_count: int, batch_size: int) -> int:
    """Full batches in one pass over `train_count` images."""
    return train_count // batch_size


def total_steps(config: dict, per_epoch: int) -> int:
    """The step a run ends at: its epochs, or its max_steps if that comes first."""
    steps = config["epochs"] * per_epoch
    if config.get("max_steps"):
        steps = min(steps, config["max_steps"])
    return steps


class GanTrainer:
    """Trains one run's generator and discriminator, resuming from its checkpoint.

    Args:
        run: the run folder; its run.json gives variant, seed, epochs, max_steps.
        data: MNIST; its training images are scaled to the variant's range.
        control: pause and stop signals; a fresh one when None.
        callbacks: told about steps, epochs, pauses and the end of training.
        checkpoint_interval_s: seconds between checkpoints within an epoch.
        preview_interval_s: seconds between redraws of samples/latest.png.
        xla: compile the step with XLA; None compiles it where a GPU trains.
    """

    def __init__(
        self,
        run: Run,
        data: Mnist,
        control: Control | None = None,
        callbacks: list[Callback] = (),
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        preview_interval_s: float = PREVIEW_INTERVAL_S,
        xla: bool | None = None,
    ):
        self.run = run
        self.control = control or Control()
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.trainer = self
        self.checkpoint_interval_s = checkpoint_interval_s
        self.preview_interval_s = preview_interval_s
        self.config = run.read_config()
        self.variant = Variant.from_dict(self.config["variant"])
        self.seed = int(self.config["seed"])
        self.train_count = len(data.train_images)
        self.steps_per_epoch = steps_per_epoch(
            self.train_count, self.variant.batch_size
        )
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"batch size {self.variant.batch_size} is larger than the "
                f"{self.train_count} training images"
            )
        self.total_steps = total_steps(self.config, self.steps_per_epoch)
        # Runs from before precision was a setting trained in float32.
        self.precision = resolve_precision(self.config.get("precision", "float32"))
        self._data = data
        self._build(backend.gpu_count() > 0 if xla is None else xla)

    # -- set-up -------------------------------------------------------------------

    def _build(self, xla: bool) -> None:
        tf = backend.tensorflow()
        keras = backend.keras()

        variant = self.variant
        keras.utils.set_random_seed(self.seed)
        self.generator = models.build_generator(variant, self.precision)
        self.discriminator = models.build_discriminator(variant, self.precision)
        # Samples and the export come from a plain float32 copy of the generator.
        self._plain_generator = models.build_generator(variant)
        self.g_optimizer = keras.optimizers.Adam(variant.learning_rate, variant.beta_1)
        self.d_optimizer = keras.optimizers.Adam(variant.learning_rate, variant.beta_1)
        # Optimizer slots exist before the first step, so a checkpoint can fill them.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.noise = tf.random.Generator.from_seed(self.seed)
        self.images = tf.constant(
            scale_images(self._data.train_images, variant.data_range)
        )
        self.sample_latents = latent.sample(SAMPLE_COUNT, variant.latent_dim, self.seed)
        self.xla = xla
        self._train_step = tf.function(self._step, jit_compile=xla)

    def train_step(self, batch_indices: np.ndarray) -> dict:
        """One compiled training step on the images at `batch_indices`.

        Where XLA cannot compile the step, it logs why and runs without it.
        """
        try:
            return self._train_step(batch_indices)
        except Exception as error:
            if not self.xla:
                raise
            logger.warning(
                "XLA could not compile the step (%s); training without", error
            )
            self.xla = False
            self._train_step = backend.tensorflow().function(self._step)
            return self._train_step(batch_indices)

    def _step(self, batch_indices):
        """One discriminator and one generator update on one batch of real images."""
        tf = backend.tensorflow()
        keras = backend.keras()

        real_images = tf.gather(self.images, batch_indices)
        batch_size = tf.shape(batch_indices)[0]
        noise = self.noise.normal((batch_size, self.variant.latent_dim))
        real_label = 1.0 - self.variant.label_smoothing
        bce = keras.losses.binary_crossentropy

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated_images = self.generator(noise, training=True)
            real_output = self.discriminator(real_images, training=True)
            fake_output = self.discriminator(generated_images, training=True)

            # D: real images toward real_label, generated ones toward 0.
            d_loss_real = tf.reduce_mean(
                bce(tf.fill(tf.shape(real_output), real_label), real_output)
            )
            d_loss_fake = tf.reduce_mean(bce(tf.zeros_like(fake_output), fake_output))
            d_loss = 0.5 * (d_loss_real + d_loss_fake)
            # G: wants its images taken for real.
            g_loss = tf.reduce_mean(bce(tf.ones_like(fake_output), fake_output))

        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables
        self.d_optimizer.apply_gradients(
            zip(d_tape.gradient(d_loss, d_variables), d_variables)
        )
        self.g_optimizer.apply_gradients(
            zip(g_tape.gradient(g_loss, g_variables), g_variables)
        )
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real_acc": tf.reduce_mean(tf.cast(real_output > 0.5, tf.float32)),
            "d_fake_acc": tf.reduce_mean(tf.cast(fake_output < 0.5, tf.float32)),
        }

    def _epoch_order(self, epoch_index: int) -> np.ndarray:
        """The shuffled image order of a 0-based epoch, fixed by (seed, epoch)."""
        rng = np.random.default_rng([self.seed, epoch_index])
        return rng.permutation(self.train_count).astype(np.int32)

    # -- checkpoints --------------------------------------------------------------

    def _checkpoint_arrays(self, step: int, elapsed_s: float) -> dict[str, np.ndarray]:
        arrays = {"rng_state": self.noise.state.numpy()}
        for prefix, variables in self._saved_variables().items():
            for index, variable in enumerate(variables):
                arrays[f"{prefix}/{index}"] = np.asarray(variable.numpy())
        meta = {"step": step, "epoch": self._epoch_of(step), "elapsed_s": elapsed_s}
        arrays["meta"] = np.array(json.dumps(meta))
        return arrays

    def _saved_variables(self) -> dict[str, list]:
        return {
            "generator": self.generator.weights,
            "discriminator": self.discriminator.weights,
            "g_optimizer": self.g_optimizer.variables,
            "d_optimizer": self.d_optimizer.variables,
        }

    def _restore(self) -> tuple[int, float]:
        """Load the newest readable checkpoint; (step, elapsed_s), (0, 0) if none."""
        found = self.run.newest_readable_checkpoint(set_aside_damaged=True)
        if found is None:
            return 0, 0.0
        checkpoint, arrays = found
        for prefix, variables in self._saved_variables().items():
            stored = sum(1 for key in arrays if key.startswith(prefix + "/"))
            if stored != len(variables):
                raise ValueError(
                    f"{checkpoint.path} holds {stored} {prefix} variables, "
                    f"the model has {len(variables)}"
                )
            for index, variable in enumerate(variables):
                variable.assign(arrays[f"{prefix}/{index}"])
        self.noise.reset(arrays["rng_state"])
        meta = json.loads(str(arrays["meta"]))
        logger.info("run %s resumed from step %d", self.run.name, meta["step"])
        return int(meta["step"]), float(meta["elapsed_s"])

    def _save(self, step: int, elapsed_s: float) -> None:
        if step == self._saved_step:  # already on disk (an epoch end, a pause)
            return
        self.run.save_checkpoint(step, self._checkpoint_arrays(step, elapsed_s))
        self.run.update_config(step=step, epoch=self._epoch_of(step))
        self._saved_step = step

    def _epoch_of(self, step: int) -> int:
        """The 1-based epoch that global step `step` (1-based) belongs to; 0 for 0."""
        return (step - 1) // self.steps_per_epoch + 1 if step else 0

    # -- samples and export -------------------------------------------------------

    def plain_generator(self):
        """A float32 Keras generator holding the current weights."""
        self._plain_generator.set_weights(self.generator.get_weights())
        return self._plain_generator

    def draw(self, latents: np.ndarray) -> np.ndarray:
        """Digits the generator draws now for `latents`, as uint8 (n, 28, 28)."""
        return models.draw_digits(self.plain_generator(), self.variant, latents)

    def draw_samples(self) -> np.ndarray:
        """The fixed latent batch through the generator, as uint8 (64, 28, 28)."""
        return self.draw(self.sample_latents)

    def _save_samples(self, paths: list[Path]) -> None:
        grid = images.to_png(images.tile(self.draw_samples(), cols=8))
        for path in paths:
            write_atomic(path, grid)

    def _export_generator(self) -> None:
        # Keras insists on the .keras suffix, so the temporary name keeps it.
        temporary = self.run.path / ".generator-export.keras"
        self.plain_generator().save(temporary)
        temporary.replace(self.run.generator_path)

    # -- the loop -----------------------------------------------------------------

    def fit(self) -> str:
        """Train to the run's total steps or until stopped; 'finished' or 'stopped'."""
        try:
            return self._fit()
        except Exception as error:
            self.run.update_config(status="failed", error=f"{error}")
            raise

    def _fit(self) -> str:
        step, elapsed_offset = self._restore()
        self._saved_step = step
        self.run.truncate_history(step)
        self.config = self.run.update_config(
            status="running",
            error=None,
            steps_per_epoch=self.steps_per_epoch,
            total_steps=self.total_steps,
            train_images=self.train_count,
            precision=self.precision,
        )
        begin = {"step": step, "total_steps": self.total_steps}
        begin["steps_per_epoch"] = self.steps_per_epoch
        for callback in self.callbacks:
            callback.on_train_begin(begin)

        pending_rows: list[dict] = []
        segment_start = time.monotonic()
        paused_s = 0.0
        last_flush = last_checkpoint = last_preview = segment_start
        order = None

        def elapsed() -> float:
            return elapsed_offset + time.monotonic() - segment_start - paused_s

        while step < self.total_steps and not self.control.stop_requested:
            if self.control.paused:
                self.run.append_history(pending_rows)
                pending_rows = []
                self._save(step, elapsed())
                self.run.update_config(status="paused")
                for callback in self.callbacks:
                    callback.on_pause(True)
                pause_start = time.monotonic()
                self.control.wait_while_paused()
                paused_s += time.monotonic() - pause_start
                self.run.update_config(status="running")
                for callback in self.callbacks:
                    callback.on_pause(False)
                continue

            epoch_index, position = divmod(step, self.steps_per_epoch)
            if order is None or position == 0:
                order = self._epoch_order(epoch_index)
            batch = self.variant.batch_size
            indices = order[position * batch : (position + 1) * batch]
            metrics = self.train_step(indices)
            step += 1
            row = {key: float(value) for key, value in metrics.items()}
            row.update(step=step, epoch=epoch_index + 1, elapsed_s=round(elapsed(), 3))
            pending_rows.append(row)
            for callback in self.callbacks:
                callback.on_step_end(row)

            now = time.monotonic()
            if now - last_flush >= HISTORY_FLUSH_S:
                self.run.append_history(pending_rows)
                pending_rows, last_flush = [], now
            if step % self.steps_per_epoch == 0:
                self.run.append_history(pending_rows)
                pending_rows = []
                epoch = step // self.steps_per_epoch
                self._save_samples(
                    [self.run.sample_path(epoch), self.run.latest_sample_path()]
                )
                self._save(step, elapsed())
                last_checkpoint = last_preview = time.monotonic()
                for callback in self.callbacks:
                    callback.on_epoch_end({**row, "epoch": epoch})
            elif now - last_checkpoint >= self.checkpoint_interval_s:
                self.run.append_history(pending_rows)
                pending_rows = []
                self._save(step, elapsed())
                last_checkpoint = time.monotonic()
            elif now - last_preview >= self.preview_interval_s:
                self._save_samples([self.run.latest_sample_path()])
                last_preview = time.monotonic()

        # Stopped or done: everything on disk matches the final step.
        self.run.append_history(pending_rows)
        reason = "finished" if step >= self.total_steps else "stopped"
        self._save_samples([self.run.latest_sample_path()])
        self._save(step, elapsed())
        self._export_generator()
        self.run.update_config(status=reason)
        logger.info("run %s %s at step %d", self.run.name, reason, step)
        for callback in self.callbacks:
            callback.on_train_end({"reason": reason, "step": step})
        return reason


def resolve_precision(requested: str) -> str:
    """'float32' or 'bfloat16' for a requested precision, 'auto' included.

    'auto' means bfloat16 where it pays: a CPU with bfloat16 instructions that
    TensorFlow's oneDNN kernels use, and no GPU (where it is not yet measured).
    """
    check_precision(requested)
    if requested == "auto":
        fast = backend.cpu_has_bfloat16() and backend.gpu_count() == 0
        return "bfloat16" if fast else "float32"
    return requested


def check_precision(requested) -> None:
    """Raise ValueError unless `requested` is one of PRECISION_CHOICES."""
    if requested not in PRECISION_CHOICES:
        choices = ", ".join(PRECISION_CHOICES)
        raise ValueError(f"precision {requested!r} is not one of {choices}")


def time_training_step(
    variant: Variant, data: Mnist, steps: int = 10, precision: str = "auto"
) -> float:
    """Median seconds of one training step of `variant`, after two warm-up steps.

    Trains a throwaway run in a temporary folder on `data`, in `precision` (by
    default what a new run would use); use a slice of a few batches, since the
    whole set is scaled and copied first.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        run = Run(folder, "timing")
        run.create(
            {
                "variant": variant.to_dict(),
                "seed": 0,
                "epochs": 1000,
                "precision": precision,
            }
        )
        trainer = GanTrainer(run, data)
        order = trainer._epoch_order(0)
        batch = order[: variant.batch_size]
        durations = []
        for index in range(steps + 2):
            started = time.perf_counter()
            float(trainer.train_step(batch)["d_loss"])  # waits for the step to end
            if index >= 2:
                durations.append(time.perf_counter() - started)
    return float(np.median(durations))
