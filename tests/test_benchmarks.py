"""The benchmark scripts run end to end on a slice of MNIST and report what they say.

Only their arithmetic and their shape are checked here: speeds on a shared test
machine mean nothing, so no test asserts one.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dcgan import models
from dcgan.variants import VARIANTS

REPO = Path(__file__).resolve().parents[1]


def load_script(name: str):
    """A benchmark script as a module, for its constants."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_benchmark(script: str, *args) -> dict:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *map(str, args), "--json"],
        capture_output=True, text=True, timeout=600, cwd=REPO, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_train_speed_reports_both_loops_and_their_ratio(mnist_slice_path):
    result = run_benchmark(
        "train_speed.py", "--variant", "dcgan-1", "--steps", 2, "--warmup", 1,
        "--precision", "float32", "--data", mnist_slice_path,
    )  # fmt: skip
    reference, trainer = result["reference_steps_per_s"], result["trainer_steps_per_s"]
    assert reference > 0 and trainer > 0
    assert result["ratio"] == pytest.approx(trainer / reference, rel=0.01)
    assert result["trainer_images_per_s"] == pytest.approx(128 * trainer, rel=0.01)
    flops = models.training_step_flops(VARIANTS["dcgan-1"])
    assert result["step_gflop"] == round(flops / 1e9, 2)
    share = trainer * flops / (result["matmul_gflop_per_s_float32"] * 1e9)
    assert result["trainer_floor_share"] == pytest.approx(share, rel=0.01)
    assert (result["trainer_precision"], result["train_images"]) == ("float32", 1024)
    assert result["pause_s"] > 0 and result["stop_s"] > 0


def test_train_speed_ablation_times_each_choice_against_the_reference(
    mnist_slice_path,
):
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "train_speed.py"), "--ablation",
         "--steps", "2", "--warmup", "1", "--data", str(mnist_slice_path)],
        capture_output=True, text=True, timeout=600, cwd=REPO, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    row = re.compile(r"^(.+?)\s+([\d.]+) ms/step\s+([\d.]+)x$", re.MULTILINE)
    rows = row.findall(result.stdout)
    names = list(load_script("train_speed.py").ABLATION)
    assert [name.strip() for name, _, _ in rows] == names
    reference_ms = float(rows[0][1])
    assert rows[0][2] == "1.00"
    for _, ms, speedup in rows:
        assert float(speedup) == pytest.approx(reference_ms / float(ms), abs=0.01)


def test_train_speed_refuses_too_few_steps():
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "train_speed.py"), "--steps", "1"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--steps must be at least 2" in result.stderr


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is missing")
def test_dashboard_speed_times_app_start_and_a_watched_run(mnist_slice_path):
    pytest.importorskip("playwright.sync_api")
    result = run_benchmark(
        "dashboard_speed.py", "--rounds", 1, "--seconds", 4, "--settle", 1,
        "--warmup", 2, "--starts", 1, "--data", mnist_slice_path,
    )  # fmt: skip
    headless, watched = result["headless_steps_per_s"], result["watched_steps_per_s"]
    assert headless > 0 and watched > 0
    assert result["watched_share"] == pytest.approx(watched / headless, rel=0.01)
    (start,) = result["home_page_s"]
    assert 0 < result["server_start_s"][0] < start
