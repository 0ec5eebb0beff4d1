"""The run folder on disk: config, history, checkpoints, sample grids.

    <runs-dir>/<name>/
        run.json            variant, settings, status, created and updated times
        history.csv         one row per training step
        checkpoints/        step-00000468.npz: both networks, both optimizers, RNG
        samples/            epoch-0001.png ..., the fixed-latent grid per epoch
        generator.keras     the generator, exported when a run stops or finishes
        .lock               held (flock) by the process that trains the run

Every file a reader may open while training goes on is replaced atomically
(written to a temporary file, then renamed), so a reader or a kill never sees half
a file. History is the exception: rows are appended, and readers drop a torn line.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HISTORY_COLUMNS = (
    "step",
    "epoch",
    "d_loss",
    "g_loss",
    "d_real_acc",
    "d_fake_acc",
    "elapsed_s",
)
METRICS_COLUMNS = (
    "epoch",
    "step",
    "recognisable_digits",
    "frechet_distance",
    "mean_confidence",
)
INTEGER_COLUMNS = ("step", "epoch", "recognisable_digits")
# A run name is a plain file name: no separators, no leading dot, at most 64 chars.
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CHECKPOINTS_KEPT = 3
HISTORY_TAIL_BYTES = 4096  # enough for the last few rows of history.csv
# mkstemp makes private files; run files are as readable as any the user writes.
FILE_MODE = 0o644
STATUSES = ("created", "running", "paused", "stopped", "finished", "failed")


logger = logging.getLogger(__name__)


class RunError(Exception):
    """A run a user named that is not valid, does not exist, or is busy."""


def default_runs_dir() -> Path:
    """The runs folder: `DCGAN_RUNS_DIR` if set, else `runs/` here."""
    return Path(os.environ.get("DCGAN_RUNS_DIR") or "runs")


def check_run_name(name: str) -> str:
    """`name` if it is a plain run name, else a RunError saying why not."""
    if not RUN_NAME.fullmatch(name or ""):
        raise RunError(
            f"invalid run name {name!r}: use 1 to 64 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit"
        )
    return name


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path`: readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(temporary, FILE_MODE)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def now_iso() -> str:
    """The current local time, to the second, as ISO 8601 with its UTC offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint file and the training position it holds."""

    path: Path
    step: int


class Run:
    """One run folder. Creating the object touches nothing on disk."""

    def __init__(self, runs_dir: str | os.PathLike, name: str):
        self.name = check_run_name(name)
        self.runs_dir = Path(runs_dir)
        self.path = self.runs_dir / name
        self.config_path = self.path / "run.json"
        self.history_path = self.path / "history.csv"
        self.metrics_path = self.path / "metrics.csv"
        self.checkpoints_dir = self.path / "checkpoints"
        self.samples_dir = self.path / "samples"
        self.generator_path = self.path / "generator.keras"
        self.lock_path = self.path / ".lock"

    def exists(self) -> bool:
        """Whether the run has been created (its run.json is on disk)."""
        return self.config_path.exists()

    # -- config -------------------------------------------------------------------

    def create(self, config: dict) -> None:
        """Make the folder and write run.json; a run that exists is an error."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.path.mkdir()
        except FileExistsError:
            raise RunError(f"run {self.name!r} already exists") from None
        self.checkpoints_dir.mkdir()
        self.samples_dir.mkdir()
        stamp = now_iso()
        self.write_config({"status": "created", **config, "created": stamp})

    def read_config(self) -> dict:
        """run.json as a dict; a missing or unreadable one is a RunError."""
        try:
            config = json.loads(self.config_path.read_text())
        except FileNotFoundError:
            raise RunError(f"no run named {self.name!r} in {self.runs_dir}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RunError(f"cannot read {self.config_path}: {error}") from None
        if not isinstance(config, dict) or not isinstance(config.get("variant"), dict):
            raise RunError(f"{self.config_path} is not a run's config")
        return config

    def write_config(self, config: dict) -> None:
        """Replace run.json, stamping its `updated` time."""
        config = {**config, "updated": now_iso()}
        write_atomic(self.config_path, json.dumps(config, indent=2).encode())

    def update_config(self, **changes) -> dict:
        """Change some fields of run.json and return the new config."""
        config = {**self.read_config(), **changes}
        self.write_config(config)
        return config

    # -- history and per-epoch metrics --------------------------------------------

    def append_history(self, rows: list[dict]) -> None:
        """Append rows (dicts with HISTORY_COLUMNS) to history.csv."""
        _append_csv(self.history_path, HISTORY_COLUMNS, rows)

    def read_history(self) -> dict[str, np.ndarray]:
        """history.csv as one array per column (empty arrays when there is none)."""
        return _read_csv(self.history_path, HISTORY_COLUMNS)

    def append_metrics(self, row: dict) -> None:
        """Append one epoch's quality measures (METRICS_COLUMNS) to metrics.csv."""
        _append_csv(self.metrics_path, METRICS_COLUMNS, [row])

    def read_metrics(self) -> dict[str, np.ndarray]:
        """metrics.csv as one array per column (empty arrays when there is none)."""
        return _read_csv(self.metrics_path, METRICS_COLUMNS)

    def truncate_history(self, last_step: int) -> None:
        """Drop rows after `last_step`, so a resume neither repeats nor skips a step."""
        for path in (self.history_path, self.metrics_path):
            _truncate_csv(path, last_step)

    # -- checkpoints --------------------------------------------------------------

    def save_checkpoint(self, step: int, arrays: dict[str, np.ndarray]) -> Path:
        """Write checkpoints/step-NNNNNNNN.npz atomically; keep the last few."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path = self.checkpoints_dir / f"step-{step:08d}.npz"
        write_atomic(path, buffer.getvalue())
        for old in self.checkpoints()[:-CHECKPOINTS_KEPT]:
            old.path.unlink(missing_ok=True)
        return path

    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints on disk, oldest first."""
        found = []
        for path in self.checkpoints_dir.glob("step-*.npz"):
            match = re.fullmatch(r"step-(\d+)\.npz", path.name)
            if match:
                found.append(Checkpoint(path, int(match.group(1))))
        return sorted(found, key=lambda checkpoint: checkpoint.step)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint, or None before the first one is written."""
        found = self.checkpoints()
        return found[-1] if found else None

    def read_checkpoint(self, checkpoint: Checkpoint) -> dict[str, np.ndarray]:
        """All arrays of a checkpoint; a damaged file is a RunError."""
        try:
            with np.load(checkpoint.path, allow_pickle=False) as arrays:
                return {key: arrays[key] for key in arrays.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise RunError(
                f"checkpoint {checkpoint.path.name} of run {self.name!r} is damaged "
                f"({error})"
            ) from None

    def newest_readable_checkpoint(self, set_aside_damaged: bool = False):
        """(checkpoint, arrays) of the newest checkpoint that reads, or None if none.

        A damaged newer checkpoint is skipped; with `set_aside_damaged` it is also
        renamed to *.damaged, so it no longer counts as the latest. A run whose
        checkpoints are all damaged is a RunError.
        """
        damaged: list[tuple[Checkpoint, RunError]] = []
        for checkpoint in reversed(self.checkpoints()):
            try:
                arrays = self.read_checkpoint(checkpoint)
            except RunError as error:
                logger.warning("%s", error)
                damaged.append((checkpoint, error))
                continue
            # Set aside only once a readable one is found: a run whose every
            # checkpoint is damaged keeps them all, and its history, as they are.
            if set_aside_damaged:
                for bad, _ in damaged:
                    bad.path.rename(bad.path.with_suffix(".damaged"))
            return checkpoint, arrays
        if damaged:
            raise damaged[0][1]
        return None

    def last_logged_step(self) -> int:
        """The step of the last complete row of history.csv (0 without one)."""
        try:
            with open(self.history_path, "rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(0, file.tell() - HISTORY_TAIL_BYTES))
                tail = file.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return 0
        for line in reversed(tail.split("\n")[1:-1]):
            try:
                return int(line.split(",", 1)[0])
            except ValueError:
                continue
        return 0

    # -- samples ------------------------------------------------------------------

    def sample_path(self, epoch: int) -> Path:
        """Where the sample grid after `epoch` goes."""
        return self.samples_dir / f"epoch-{epoch:04d}.png"

    def latest_sample_path(self) -> Path:
        """Where the most recent sample grid goes (refreshed during an epoch too)."""
        return self.samples_dir / "latest.png"

    def epoch_samples(self) -> list[Path]:
        """The per-epoch sample grids, first epoch first."""
        return sorted(self.samples_dir.glob("epoch-*.png"))

    # -- the training lock -------------------------------------------------------

    def try_lock(self) -> RunLock | None:
        """Take the run's training lock, or None if another trainer holds it."""
        handle = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return None
        return RunLock(handle)

    def is_locked(self) -> bool:
        """Whether some trainer, in this process or another, holds the lock."""
        if not self.lock_path.exists():
            return False
        lock = self.try_lock()
        if lock is None:
            return True
        lock.release()
        return False


def _append_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
    if not path.exists():
        writer.writeheader()
    writer.writerows(rows)
    with open(path, "a", encoding="utf-8") as file:
        file.write(buffer.getvalue())


def _read_csv(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """One array per column; a last line cut short by a write or a kill is skipped."""
    return _csv_cache.read(path, columns)


def _parse_rows(lines: list[bytes], columns, values: dict[str, list]) -> None:
    """Append the numbers of well-formed `lines` to `values`, column by column.

    A damaged row is skipped and the rest still read: a wrong number of fields,
    a field that is not a finite number, or a step that does not go forward.
    """
    steps = values.get("step")
    for line in lines:
        fields = line.split(b",")
        if len(fields) != len(columns):
            continue
        try:
            numbers = [float(field) for field in fields]
        except ValueError:
            continue
        if not all(math.isfinite(number) for number in numbers):
            continue
        row = dict(zip(columns, numbers, strict=True))
        if steps is not None and steps and row["step"] <= steps[-1]:
            continue
        for name, number in row.items():
            values[name].append(number)


@dataclass
class _CachedCsv:
    columns: tuple[str, ...]
    inode: int
    offset: int  # bytes parsed: whole lines only
    last_line: bytes  # the parsed line ending at `offset`, to notice a rewrite
    values: dict[str, list]


class _CsvCache:
    """history.csv and metrics.csv as parsed so far, reading only what was appended.

    The live Train page reads a run's history every few seconds; a 100-epoch run
    has 46,800 rows, and parsing them all each time took a large share of a core
    from training. Rows are only ever appended, or the file is replaced whole
    (a resume drops rows through a rename), which a new inode or a changed last
    line gives away; then the file is read from the start.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._files: dict[Path, _CachedCsv] = {}

    def read(self, path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
        with self._lock:
            cached = self._update(Path(path), columns)
            values = cached.values if cached else {name: [] for name in columns}
            arrays = {name: np.array(column) for name, column in values.items()}
        for name in INTEGER_COLUMNS:
            if name in arrays:
                arrays[name] = arrays[name].astype(np.int64)
        return arrays

    def _update(self, path: Path, columns) -> _CachedCsv | None:
        try:
            file = open(path, "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            self._files.pop(path, None)
            return None
        with file:
            inode = os.fstat(file.fileno()).st_ino
            cached = self._files.get(path)
            if not self._still_valid(cached, file, inode, columns):
                cached = _CachedCsv(columns, inode, 0, b"", {c: [] for c in columns})
                self._files[path] = cached
            file.seek(cached.offset)
            appended = file.read()
        end = appended.rfind(b"\n") + 1  # a cut-short last line waits
        if not end:
            return cached
        lines = appended[:end].splitlines()
        if cached.offset == 0:
            lines = lines[1:]  # the header
        _parse_rows(lines, columns, cached.values)
        cached.offset += end
        cached.last_line = appended[:end].splitlines(keepends=True)[-1]
        return cached

    @staticmethod
    def _still_valid(cached, file, inode: int, columns) -> bool:
        if cached is None or cached.inode != inode or cached.columns != columns:
            return False
        if not cached.offset:
            return True
        start = cached.offset - len(cached.last_line)
        file.seek(start)
        return file.read(len(cached.last_line)) == cached.last_line


_csv_cache = _CsvCache()


def _truncate_csv(path: Path, last_step: int) -> None:
    """Keep the header and the rows whose `step` is at most `last_step`."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[:1]
    if not header:
        return
    step_index = header[0].strip().split(",").index("step")
    kept = []
    for line in lines[1:]:
        if not line.endswith("\n"):
            break
        try:
            step = int(line.split(",")[step_index])
        except (ValueError, IndexError):  # a damaged row goes
            continue
        if step > last_step:
            break
        kept.append(line)
    write_atomic(path, "".join(header + kept).encode())


class RunLock:
    """A held run lock; the OS frees it if the process dies."""

    def __init__(self, handle: int):
        self._handle: int | None = handle

    def release(self) -> None:
        """Release the lock; safe to call twice."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None


@dataclass(frozen=True)
class RunSummary:
    """What the run list shows of a run."""

    name: str
    variant: str
    status: str
    step: int
    total_steps: int
    epoch: int
    updated: str
    error: str | None


def summarize(run: Run) -> RunSummary:
    """A run's summary; a run marked running that nobody trains is 'interrupted'."""
    config = run.read_config()
    status = config.get("status", "created")
    if status in ("running", "paused") and not run.is_locked():
        status = "interrupted"
    return RunSummary(
        name=run.name,
        variant=config.get("variant", {}).get("title", "?"),
        status=status,
        step=max(int(config.get("step", 0)), run.last_logged_step()),
        total_steps=int(config.get("total_steps", 0)),
        epoch=int(config.get("epoch", 0)),
        updated=config.get("updated", ""),
        error=config.get("error"),
    )


def list_runs(runs_dir: str | os.PathLike) -> list[RunSummary]:
    """Every readable run in `runs_dir`, most recently updated first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    summaries = []
    for folder in root.iterdir():
        if not (folder / "run.json").exists() or not RUN_NAME.fullmatch(folder.name):
            continue
        try:
            summaries.append(summarize(Run(root, folder.name)))
        except RunError:
            continue
    return sorted(summaries, key=lambda summary: summary.updated, reverse=True)


def recent_speed(history: dict[str, np.ndarray], window: int = 50) -> float | None:
    """Training steps per second over the last `window` steps, from elapsed_s."""
    steps, elapsed = history["step"][-window:], history["elapsed_s"][-window:]
    if len(steps) < 2 or elapsed[-1] <= elapsed[0]:
        return None
    return float((steps[-1] - steps[0]) / (elapsed[-1] - elapsed[0]))
