"""What every page of the dashboard shares: the runs folder, the job manager, and
generators loaded once. Widgets live in the pages; files and threads in `dcgan`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

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
def run_generator(folder: str, name: str, checkpoint_step: int):
    """A run's generator at one checkpoint, loaded once per (run, checkpoint)."""
    from dcgan.models import load_generator

    return load_generator(Run(folder, name))


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
