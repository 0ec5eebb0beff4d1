"""The command line: train, resume, list and sample runs without a browser.

A user's mistake (an unknown variant, a number out of range, bad data, a run name
that is not a plain name or does not exist) exits with code 2 and one line on
stderr, and writes nothing.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from dcgan import latent
from dcgan.data import DataError
from dcgan.jobs import MAX_SEED, JobError, JobManager
from dcgan.runs import Run, RunError, check_run_name, default_runs_dir, list_runs
from dcgan.variants import VARIANTS, VariantError, get_variant

USAGE_ERROR = 2
PROGRESS_INTERVAL_S = 10.0
MAX_SAMPLES = 1024


class UsageError(Exception):
    """A mistake on the command line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line, not usage text and a line."""

    def error(self, message):
        raise UsageError(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}")
    return value


def _run_name(text: str) -> str:
    try:
        return check_run_name(text)
    except RunError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The `python -m dcgan` argument parser."""
    parser = _Parser(prog="python -m dcgan", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def runs_dir_option(command):
        command.add_argument(
            "--runs-dir",
            type=Path,
            default=None,
            help="folder of runs (default: $DCGAN_RUNS_DIR or runs/)",
        )

    train = commands.add_parser("train", help="start a new run")
    train.add_argument("--variant", required=True, choices=list(VARIANTS))
    train.add_argument("--run", type=_run_name, help="run name (default: VARIANT-TIME)")
    runs_dir_option(train)
    train.add_argument("--epochs", type=_positive, help="epochs (default: 100)")
    train.add_argument("--max-steps", type=_positive, help="stop after this step")
    train.add_argument("--batch-size", type=_positive, help="default: 128")
    train.add_argument("--seed", type=_seed, default=0)
    train.add_argument("--data", help="mnist.npz or a folder of the IDX files")

    resume = commands.add_parser("resume", help="go on training a run")
    resume.add_argument("name", type=_run_name)
    runs_dir_option(resume)
    resume.add_argument("--epochs", type=_positive, help="total epochs for the run")
    resume.add_argument("--max-steps", type=_positive, help="total steps for the run")

    listing = commands.add_parser("list", help="list runs")
    runs_dir_option(listing)

    sample = commands.add_parser("sample", help="draw digits from a run's generator")
    sample.add_argument("name", type=_run_name)
    sample.add_argument("--out", required=True, type=Path, help="PNG file to write")
    sample.add_argument("--n", type=_positive, default=64, help="digits (default 64)")
    sample.add_argument("--seed", type=_seed, default=0)
    runs_dir_option(sample)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _train_in_foreground(job) -> int:
    """Wait for a job, printing progress; Ctrl-C or SIGTERM stops it cleanly."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while not job.join(timeout=PROGRESS_INTERVAL_S):
            status = job.status
            if status.state == "running":
                speed = (
                    f"{status.steps_per_s:.2f} steps/s" if status.steps_per_s else ""
                )
                print(
                    f"step {status.step}/{status.total_steps}  epoch {status.epoch}  "
                    f"d_loss {status.d_loss:.3f}  g_loss {status.g_loss:.3f}  {speed}",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("stopping: saving a checkpoint ...", file=sys.stderr, flush=True)
        job.stop()
        job.join()
    status = job.status
    if status.state == "failed":
        print(f"error: training failed: {status.error}", file=sys.stderr)
        return 1
    print(f"run {job.run.name} {status.state} at step {status.step} ({job.run.path})")
    return 0


def _command_train(args) -> int:
    variant = get_variant(args.variant)
    if args.batch_size:
        variant = variant.derive(variant.name, batch_size=args.batch_size)
    name = args.run or f"{variant.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    manager = JobManager(args.runs_dir)
    job = manager.start(
        name,
        variant,
        epochs=args.epochs,
        max_steps=args.max_steps,
        seed=args.seed,
        data_path=args.data,
    )
    print(f"training {variant.title} as run {name} in {job.run.path}", flush=True)
    return _train_in_foreground(job)


def _command_resume(args) -> int:
    manager = JobManager(args.runs_dir)
    job = manager.resume(args.name, epochs=args.epochs, max_steps=args.max_steps)
    print(f"resuming run {args.name}", flush=True)
    return _train_in_foreground(job)


def _command_list(args) -> int:
    summaries = list_runs(args.runs_dir)
    if not summaries:
        print(f"no runs in {args.runs_dir}")
        return 0
    print(
        f"{'run':<28} {'variant':<8} {'status':<12} {'step':>15} {'epoch':>6}  updated"
    )
    for s in summaries:
        steps = f"{s.step}/{s.total_steps}"
        print(
            f"{s.name:<28} {s.variant:<8} {s.status:<12} {steps:>15} {s.epoch:>6}  "
            f"{s.updated}"
        )
    return 0


def _command_sample(args) -> int:
    from dcgan import images
    from dcgan.models import generate, load_generator

    if args.n > MAX_SAMPLES:
        raise UsageError(f"--n must be at most {MAX_SAMPLES}")
    if args.out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, not {args.out}")
    if not args.out.parent.is_dir():
        raise UsageError(f"folder {args.out.parent} does not exist")
    run = Run(args.runs_dir, args.name)
    generator, variant = load_generator(run)
    latents = latent.sample(args.n, variant.latent_dim, args.seed)
    digits = images.to_uint8(generate(generator, latents), variant.data_range)
    images.save_grid(digits, args.out)
    print(f"wrote {args.n} digits from run {args.name} to {args.out}")
    return 0


COMMANDS = {
    "train": _command_train,
    "resume": _command_resume,
    "list": _command_list,
    "sample": _command_sample,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "runs_dir", None) is None:
            args.runs_dir = default_runs_dir()
        return COMMANDS[args.command](args)
    except (UsageError, DataError, RunError, JobError, VariantError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
