"""Background training jobs: one thread per run, one manager per process.

A job thread never touches the UI. It trains through `GanTrainer`, writes to its
run folder, and keeps a small status (step, speed, last losses, state) behind a
lock; the dashboard and the CLI read copies of it.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from dcgan import backend
from dcgan.data import load_mnist
from dcgan.runs import Run, RunError, check_run_name
from dcgan.training import (
    PRECISION_CHOICES,
    Callback,
    Control,
    check_precision,
    steps_per_epoch,
    total_steps,
)
from dcgan.variants import Variant

logger = logging.getLogger(__name__)

# Two training threads on a 2-core machine each run at half speed or worse, so
# one job at a time is the default; DCGAN_MAX_JOBS raises it (on a GPU, say).
DEFAULT_MAX_JOBS = 1
SPEED_WINDOW_STEPS = 50  # steps/s is measured over the last this many steps
MAX_SEED = 2**31 - 1
SHUTDOWN_TIMEOUT_S = 30.0
LOCK_TRIES = 10
LOCK_RETRY_S = 0.05
ENDED_STATES = (
    "stopped",
    "finished",
    "failed",
)  # how long app shutdown waits for jobs to checkpoint
MAX_EPOCHS = 10_000
MAX_STEPS = 10_000_000


class JobError(Exception):
    """A job that cannot start: the run is busy, or too many jobs are running."""


@dataclass(frozen=True)
class JobStatus:
    """A copy of what a job is doing, safe to read from any thread."""

    run_name: str
    state: str  # starting, running, paused, stopping, stopped, finished, failed
    step: int = 0
    total_steps: int = 0
    steps_per_epoch: int = 0
    epoch: int = 0
    d_loss: float | None = None
    g_loss: float | None = None
    steps_per_s: float | None = None
    error: str | None = None

    @property
    def progress(self) -> float:
        """Fraction of the run's steps done, 0 to 1."""
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds to the last step at the current speed, None while unknown."""
        if not self.steps_per_s or self.state != "running":
            return None
        return (self.total_steps - self.step) / self.steps_per_s

    @property
    def alive(self) -> bool:
        """Whether the job's thread is still going (or about to)."""
        return self.state in ("starting", "running", "paused", "stopping")


class _StatusCallback(Callback):
    """Feeds the trainer's progress into its job's status."""

    def __init__(self, job: Job):
        self.job = job
        self.recent = collections.deque(maxlen=SPEED_WINDOW_STEPS)

    def on_train_begin(self, logs):
        self.job._update(
            state="running",
            step=logs["step"],
            total_steps=logs["total_steps"],
            steps_per_epoch=logs["steps_per_epoch"],
        )

    def on_step_end(self, logs):
        self.recent.append((time.monotonic(), logs["step"]))
        speed = None
        if len(self.recent) >= 2:
            (start, first), (end, last) = self.recent[0], self.recent[-1]
            speed = (last - first) / (end - start) if end > start else None
        self.job._update(
            step=logs["step"],
            epoch=logs["epoch"],
            d_loss=logs["d_loss"],
            g_loss=logs["g_loss"],
            steps_per_s=speed,
        )

    def on_pause(self, paused):
        self.recent.clear()  # speed is measured afresh after a pause
        self.job._update(state="paused" if paused else "running", steps_per_s=None)


class Job:
    """One run training in a daemon thread. Use JobManager to make one."""

    def __init__(self, run: Run, data, lock):
        self.run = run
        self.control = Control()
        self._data = data
        self._lock = lock
        self._status_lock = threading.Lock()
        self._status = JobStatus(run.name, "starting")
        # Set when the thread is done. Waiting on it, not on Thread.join, stays right
        # when a Ctrl-C interrupts the wait (an interrupted join can report a live
        # thread as ended).
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._work, name=f"train-{run.name}", daemon=True
        )

    def _update(self, **changes) -> None:
        with self._status_lock:
            current = self._status.state
            new = changes.get("state")
            # An ended job stays ended, and a stopping one is not sent back to
            # running by a pause lifted or a start reported a moment late.
            if current in ENDED_STATES or (
                current == "stopping" and new in ("running", "paused")
            ):
                changes.pop("state", None)
            self._status = replace(self._status, **changes)

    def _work(self) -> None:
        from dcgan.evaluation import EpochQuality
        from dcgan.training import GanTrainer

        try:
            callbacks = [_StatusCallback(self), EpochQuality()]
            trainer = GanTrainer(self.run, self._data, self.control, callbacks)
            reason = trainer.fit()
            self._update(state=reason, steps_per_s=None)
        except Exception as error:
            # Kept for the UI to show; the run's run.json says 'failed' too.
            logger.exception("run %s failed", self.run.name)
            message = f"{type(error).__name__}: {error}"
            self._update(state="failed", error=message, steps_per_s=None)
            try:
                self.run.update_config(status="failed", error=message)
            except (OSError, RunError):
                logger.exception("could not record the failure of %s", self.run.name)
        finally:
            self._data = None
            self._lock.release()
            self._done.set()

    @property
    def status(self) -> JobStatus:
        """A snapshot of the job's status."""
        with self._status_lock:
            return self._status

    @property
    def alive(self) -> bool:
        """Whether the job's thread has not yet ended."""
        return not self._done.is_set()

    def pause(self) -> None:
        """Pause after the current step; the thread then waits, using no CPU."""
        if self.alive:
            self.control.pause()

    def resume(self) -> None:
        """Go on after a pause."""
        self.control.resume()

    def stop(self) -> None:
        """Checkpoint, export the generator and end, after the current step."""
        if self.alive:
            self._update(state="stopping")
            self.control.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        return self._done.wait(timeout)


def _check_number(name: str, value, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise JobError(f"{name} must be between {low} and {high}, not {value}")


def max_jobs_setting() -> int:
    """Jobs allowed at once: `DCGAN_MAX_JOBS`, or 1; a bad value is a JobError."""
    text = os.environ.get("DCGAN_MAX_JOBS", "").strip()
    if not text:
        return DEFAULT_MAX_JOBS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise JobError(
            f"DCGAN_MAX_JOBS must be a whole number of at least 1, not {text!r}"
        )
    return value


class JobManager:
    """Starts, pauses, resumes and stops training jobs; at most one job per run.

    Args:
        runs_dir: the folder that holds the runs.
        max_jobs: how many jobs may train at once in this process (paused jobs
            count); `DCGAN_MAX_JOBS` or 1 when None.
    """

    def __init__(self, runs_dir: str | os.PathLike, max_jobs: int | None = None):
        self.runs_dir = Path(runs_dir)
        self.max_jobs = max_jobs if max_jobs is not None else max_jobs_setting()
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def get(self, name: str) -> Job | None:
        """The job of run `name` started in this process, alive or ended."""
        with self._lock:
            return self._jobs.get(name)

    def alive(self) -> list[Job]:
        """The jobs whose thread is still going."""
        with self._lock:
            return [job for job in self._jobs.values() if job.alive]

    def start(
        self,
        name: str,
        variant: Variant,
        *,
        epochs: int | None = None,
        max_steps: int | None = None,
        seed: int = 0,
        data_path: str | None = None,
        precision: str = "auto",
    ) -> Job:
        """Create run `name` and train it in the background.

        Args:
            epochs: the run's length in epochs; the variant's default when None.
            max_steps: stop at this global step if it comes before the epochs end.
            seed: fixes weight init, batch order, noise and the sample latents.
            data_path: MNIST file or folder; the default sources when None.
            precision: 'float32', 'bfloat16', or 'auto' (bfloat16 where it pays);
                the trainer records what it chose in run.json.
        """
        check_run_name(name)
        epochs = epochs or variant.epochs
        _check_number("epochs", epochs, 1, MAX_EPOCHS)
        _check_number("max steps", max_steps, 1, MAX_STEPS)
        _check_number("seed", seed, 0, MAX_SEED)
        try:
            check_precision(precision)
        except ValueError as error:
            raise JobError(str(error)) from None
        data = load_mnist(data_path)
        if steps_per_epoch(len(data.train_images), variant.batch_size) == 0:
            raise JobError(
                f"batch size {variant.batch_size} is larger than the "
                f"{len(data.train_images)} training images"
            )
        config = {
            "variant": variant.to_dict(),
            "seed": seed,
            "epochs": epochs,
            "max_steps": max_steps,
            "data_path": str(Path(data_path).resolve()) if data_path else None,
            "data_source": data.source,
            "precision": precision,
        }
        with self._lock:
            self._check_capacity(name)
            run = Run(self.runs_dir, name)
            if run.exists():
                raise RunError(f"run {name!r} already exists; resume it instead")
            run.create(config)
            return self._launch(run, data)

    def resume(
        self, name: str, *, epochs: int | None = None, max_steps: int | None = None
    ) -> Job:
        """Go on training run `name` from its last checkpoint.

        `epochs` and `max_steps` are totals for the run, not extra amounts;
        None leaves them as they are, and `max_steps=0` lifts the step limit.
        """
        run = Run(self.runs_dir, check_run_name(name))
        config = run.read_config()
        _check_number("epochs", epochs, 1, MAX_EPOCHS)
        _check_number("max steps", max_steps, 0, MAX_STEPS)
        data = load_mnist(config.get("data_path"))
        changes = {}
        if epochs is not None:
            changes["epochs"] = epochs
        if max_steps is not None:
            changes["max_steps"] = max_steps or None
        config = {**config, **changes}
        precision = config.get("precision", "float32")
        if precision not in PRECISION_CHOICES:
            raise JobError(
                f"run {name!r} has precision {precision!r} in run.json; set it to "
                f"one of {', '.join(PRECISION_CHOICES)}"
            )
        variant = Variant.from_dict(config["variant"])
        per_epoch = steps_per_epoch(len(data.train_images), variant.batch_size)
        checkpoint = run.latest_checkpoint()
        done = checkpoint.step if checkpoint else 0
        if done >= total_steps(config, per_epoch):
            raise JobError(
                f"run {name!r} already has {done} steps; raise its epochs or max "
                "steps to train more"
            )
        with self._lock:
            self._check_capacity(name)
            return self._launch(run, data, changes)

    def _check_capacity(self, name: str) -> None:
        """Refuse a second job for a run, or one job too many (caller holds lock)."""
        current = self._jobs.get(name)
        if current is not None and current.alive:
            raise JobError(f"run {name!r} is already training")
        alive = [job.run.name for job in self._jobs.values() if job.alive]
        if len(alive) >= self.max_jobs:
            raise JobError(
                f"{', '.join(alive)} is training and this machine allows "
                f"{self.max_jobs} job(s) at a time (DCGAN_MAX_JOBS); stop it first"
            )

    def _launch(self, run: Run, data, changes: dict | None = None) -> Job:
        """Take the run's lock, apply config changes, start its thread."""
        # A page checking whether the run is busy holds the lock for an instant;
        # a few tries tell that apart from a trainer in another process.
        for _ in range(LOCK_TRIES):
            lock = run.try_lock()
            if lock is not None:
                break
            time.sleep(LOCK_RETRY_S)
        if lock is None:
            raise JobError(f"run {run.name!r} is being trained by another process")
        if changes:
            run.update_config(**changes)
        job = Job(run, data, lock)
        self._jobs[run.name] = job
        job._thread.start()
        logger.info("job for run %s started", run.name)
        return job

    def stop_all(self, timeout: float = SHUTDOWN_TIMEOUT_S) -> None:
        """Stop every job and wait for them; safe to call twice."""
        jobs = self.alive()
        for job in jobs:
            job.stop()
        for job in jobs:
            job.join(timeout)


_managers: dict[Path, JobManager] = {}
_managers_lock = threading.Lock()


def default_manager(runs_dir: str | os.PathLike) -> JobManager:
    """The process-wide manager for `runs_dir`, made on first use."""
    key = Path(runs_dir).resolve()
    with _managers_lock:
        if key not in _managers:
            manager = JobManager(runs_dir)
            # When the app shuts down, its jobs checkpoint and stop rather than die
            # mid-step; they resume from there when the app is back.
            backend.at_exit_while_tensorflow_works(manager.stop_all)
            _managers[key] = manager
        return _managers[key]
