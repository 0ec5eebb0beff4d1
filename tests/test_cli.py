"""The command line as a user runs it: a real `python -m dcgan` process."""

import json
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

from dcgan import generators
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
        "--seed", "1", "--epochs", "2", "--precision", "bfloat16", *data,
        runs_dir=runs_dir,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = dcgan("resume", "demo", "--max-steps", "5", runs_dir=runs_dir)
    assert second.returncode == 0, second.stderr
    assert "finished at step 5" in second.stdout

    run = Run(runs_dir, "demo")
    assert_continuous(run.read_history(), 5)
    assert run.read_config()["precision"] == "bfloat16"  # kept on resume
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
        (["sample", "ghost", "--out", "x.png/"], r"must name a \.png file"),
        (["train", "--variant", "dcgan-1", "--data", ""], "path is empty"),
        (["train", "--variant", "dcgan-1", "--precision", "fp8"], "invalid choice"),
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


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_classifier_evaluate_reports_at_least_99_percent(tmp_path):
    result = dcgan("classifier", "evaluate", "--json", runs_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert last_json(result.stdout)["test_accuracy"] >= 0.99


@pytest.mark.parametrize("variant", ["dcgan-1", "dcgan-2", "dcgan-3", "dcgan-4"])
def test_evaluating_a_pretrained_generator_reproduces_its_card(tmp_path, variant):
    name = f"pretrained:{variant}"
    result = dcgan("evaluate", name, "--n", "1000", "--seed", "0", "--json",
                   runs_dir=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    measured = last_json(result.stdout)
    assert set(measured) >= {"recognisable_digits", "class_histogram",
                             "mean_confidence", "frechet_distance"}  # fmt: skip
    assert len(measured["class_histogram"]) == 10
    recorded = generators.pretrained_record(name)["quality"]
    assert measured["recognisable_digits"] == recorded["recognisable_digits"]
    assert measured["class_histogram"] == recorded["class_histogram"]
    assert measured["frechet_distance"] == pytest.approx(
        recorded["frechet_distance"], rel=1e-3
    )


def test_export_ships_a_run_as_float16_weights_with_a_card(runs_dir, mnist_slice_path):
    dcgan("train", "--variant", "dcgan-2", "--run", "small", "--max-steps", "3",
          "--data", mnist_slice_path, runs_dir=runs_dir)  # fmt: skip
    shipped = runs_dir.parent / "shipped"
    result = dcgan("export", "small", "--out-dir", shipped, runs_dir=runs_dir)
    assert result.returncode == 0, result.stderr
    record = generators.pretrained_record("pretrained:dcgan-2", shipped)
    assert (record["run"], record["steps"], record["seed"]) == ("small", 3, 0)
    assert record["quality"]["samples"] == 1000
    card = (shipped / "dcgan-2.md").read_text()
    assert "| steps | 3 (batch 128) |" in card
    assert f"{record['quality']['recognisable_digits']}/10" in card
    with np.load(shipped / "dcgan-2.npz") as arrays:
        assert arrays["w/0"].dtype == np.float16

    evaluated = dcgan("evaluate", "small", "--n", "200", "--json", runs_dir=runs_dir)
    assert evaluated.returncode == 0, evaluated.stderr
    assert sum(last_json(evaluated.stdout)["class_histogram"]) == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "pretrained:dcgan-9"], "no pretrained generator"),
        (["evaluate", "ghost"], "no run named 'ghost'"),
        (["evaluate", "pretrained:dcgan-1", "--n", "0"], "at least 1"),
        (["evaluate", "pretrained:dcgan-1", "--n", "5"], "between 200 and"),
        (["sample", "pretrained:../x", "--out", "a.png"], "no pretrained generator"),
        (["export", "ghost"], "no run named 'ghost'"),
        (["classifier", "dance"], "invalid choice"),
    ],
)
def test_evaluation_mistakes_exit_2_with_one_line(tmp_path, args, message):
    result = dcgan(*args, runs_dir=tmp_path / "runs")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_a_runs_folder_that_is_a_file_or_a_folder_as_out_is_one_line(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = dcgan("list", "--runs-dir", a_file, runs_dir=tmp_path)
    assert result.returncode == 2 and "is a file" in result.stderr
    folder = tmp_path / "folder.png"
    folder.mkdir()
    result = dcgan("sample", "pretrained:dcgan-1", "--out", folder, runs_dir=tmp_path)
    assert result.returncode == 2 and "names a folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
