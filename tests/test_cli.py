"""The command line as a user runs it: a real `python -m dcgan` process."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan.runs import Run

from .conftest import assert_continuous

REPO = Path(__file__).resolve().parents[1]


def dcgan(*args, runs_dir, timeout=300):
    env = {**os.environ, "DCGAN_RUNS_DIR": str(runs_dir)}
    return subprocess.run(
        [sys.executable, "-m", "dcgan", *map(str, args)],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_train_then_resume_to_a_total_gives_each_step_once(runs_dir, mnist_slice_path):
    data = ["--data", mnist_slice_path]
    first = dcgan(
        "train", "--variant", "dcgan-2", "--run", "demo", "--max-steps", "3",
        "--seed", "1", "--epochs", "2", *data, runs_dir=runs_dir,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = dcgan("resume", "demo", "--max-steps", "5", runs_dir=runs_dir)
    assert second.returncode == 0, second.stderr
    assert "finished at step 5" in second.stdout

    run = Run(runs_dir, "demo")
    assert_continuous(run.read_history(), 5)
    assert [c.step for c in run.checkpoints()] == [3, 5]

    listing = dcgan("list", runs_dir=runs_dir)
    assert "demo" in listing.stdout and "finished" in listing.stdout

    out = runs_dir.parent / "digits.png"
    sample = dcgan("sample", "demo", "--out", out, "--n", "10", runs_dir=runs_dir)
    assert sample.returncode == 0, sample.stderr
    assert np.asarray(Image.open(out)).ndim == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--variant", "dcgan-9"], "invalid choice: 'dcgan-9'"),
        (["train", "--variant", "dcgan-1", "--epochs", "0"], "at least 1"),
        (["train", "--variant", "dcgan-1", "--max-steps", "ten"], "not a whole number"),
        (["train", "--variant", "dcgan-1", "--seed", "-3"], "between 0 and"),
        (["train", "--variant", "dcgan-1", "--batch-size", "99999"], "batch_size"),
        (["train", "--variant", "dcgan-1", "--data", "/nowhere/m.npz"], "not found"),
        (["train", "--variant", "dcgan-1", "--run", "../x"], "invalid run name"),
        (["train", "--variant", "dcgan-1", "--run", "/tmp/abs"], "invalid run name"),
        (["resume", "ghost"], "no run named 'ghost'"),
        (["resume", "../ghost"], "invalid run name"),
        (["sample", "ghost", "--out", "g.png"], "no run named 'ghost'"),
        (["sample", "ghost", "--out", "g.jpg"], r"must name a \.png file"),
        (["bogus"], "invalid choice"),
        ([], "required"),
    ],
)
def test_a_mistake_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    runs_dir = tmp_path / "runs"
    before = sorted(tmp_path.rglob("*"))
    result = dcgan(*args, runs_dir=runs_dir)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert sorted(tmp_path.rglob("*")) == before
    assert not (REPO.parent / "x").exists()


def test_a_malformed_data_file_exits_2_and_names_it(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"\x00" * 100)
    result = dcgan(
        "train", "--variant", "dcgan-2", "--data", bad, runs_dir=tmp_path / "r"
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {bad} is not an .npz archive")
    assert not (tmp_path / "r").exists()


def test_a_finished_run_resumed_to_its_own_length_says_so(runs_dir, mnist_slice_path):
    dcgan("train", "--variant", "dcgan-2", "--run", "done", "--max-steps", "2",
          "--data", mnist_slice_path, runs_dir=runs_dir)  # fmt: skip
    result = dcgan("resume", "done", "--max-steps", "2", runs_dir=runs_dir)
    assert result.returncode == 2
    assert "already has 2 steps" in result.stderr


def test_sigterm_stops_a_training_run_with_a_checkpoint(runs_dir, mnist_slice_path):
    env = {**os.environ, "DCGAN_RUNS_DIR": str(runs_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "dcgan", "train", "--variant", "dcgan-2", "--run",
         "term", "--epochs", "100", "--data", str(mnist_slice_path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    run = Run(runs_dir, "term")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(run.read_history()["step"]) < 2:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "stopped at step" in out
    history = run.read_history()
    assert run.read_config()["status"] == "stopped"
    assert run.latest_checkpoint().step == history["step"][-1]
    assert_continuous(history, int(history["step"][-1]))
