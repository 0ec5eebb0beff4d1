"""What every page of the dashboard shares: the runs folder, the job manager, and
generators loaded once. Widgets live in the pages; files and threads in `dcgan`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dcgan import backend, generators
from dcgan.jobs import JobManager, default_manager
from dcgan.runs import Run, default_runs_dir

STATUS_ICONS = {
    "created": ":material/radio_button_unchecked:",
    "starting": ":material/hourglass_top:",
    "running": ":material/play_circle:",
    "paused": ":material/pause_circle:",
    "stopping": ":material/hourglass_bottom:",
    "stopped": ":material/stop_circle:",
    "finished": ":material/check_circle:",
    "failed": ":material/error:",
    "interrupted": ":material/warning:",
}


def _keep_keras_session(tensorflow, keras) -> None:
    """Stop Streamlit from clearing Keras' session after every script run.

    Streamlit calls `keras.backend.clear_session()` whenever a script run ends,
    which here is every live refresh of the Train page. Clearing empties
    TensorFlow's kernel cache, shared with the training jobs of this process, so
    a job rebuilt its compiled step every few seconds and trained at half speed
    with the page open. Nothing in the app relies on the clearing: models are
    built once and cached.
    """
    keras.backend.clear_session = _session_kept


def _session_kept(*args, **kwargs) -> None:
    """Stands in for keras.backend.clear_session in the app; clears nothing."""


backend.after_import(_keep_keras_session)


def runs_dir() -> Path:
    """The runs folder this app shows (DCGAN_RUNS_DIR or runs/)."""
    return default_runs_dir()


@st.cache_resource
def job_manager(folder: str) -> JobManager:
    """The process-wide job manager: every tab and session sees the same jobs."""
    return default_manager(folder)


def manager() -> JobManager:
    """The job manager for this app's runs folder."""
    return job_manager(str(runs_dir()))


@st.cache_resource(max_entries=16, show_spinner="Loading generator ...")
def generator(folder: str, name: str, checkpoint_step: int):
    """A generator (run or pretrained) and its variant, loaded once per checkpoint."""
    return generators.load(name, folder)


def format_duration(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 05 s', '12 s', or '–' when unknown."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def generator_label(name: str) -> str:
    """'DCGAN-2 (pretrained)' for a shipped generator, the run name otherwise."""
    if name.startswith(generators.PRETRAINED_PREFIX):
        variant = name.removeprefix(generators.PRETRAINED_PREFIX)
        return f"{variant.upper()} (pretrained)"
    return name


def checkpoint_step(name: str) -> int:
    """The step a generator was saved at; 0 for shipped ones (they never change)."""
    if name.startswith(generators.PRETRAINED_PREFIX):
        return 0
    checkpoint = Run(runs_dir(), name).latest_checkpoint()
    return checkpoint.step if checkpoint else -1


@st.cache_data(max_entries=64, show_spinner="Measuring the digits ...")
def quality(folder: str, name: str, step: int, samples: int, seed: int) -> dict:
    """A generator's quality measures, taken once per (generator, checkpoint)."""
    from dcgan import evaluation

    if name.startswith(generators.PRETRAINED_PREFIX):
        record = generators.pretrained_record(name)
        shipped = record.get("quality", {})
        if (shipped.get("samples"), shipped.get("seed")) == (samples, seed):
            return shipped
    return evaluation.evaluate_generator(name, folder, samples, seed).to_dict()


@st.cache_data(max_entries=8, show_spinner=False)
def sample_history_gif(folder: str, name: str, epochs: int) -> bytes:
    """A run's per-epoch sample grids as a GIF, made once per number of epochs."""
    from dcgan import images

    return images.gif_from_pngs(Run(folder, name).epoch_samples()[:epochs])
