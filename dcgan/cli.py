"""The command line: train, resume, list and sample runs without a browser.

A user's mistake (an unknown variant, a number out of range, bad data, a run name
that is not a plain name or does not exist) exits with code 2 and one line on
stderr, and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from dcgan import latent
from dcgan.data import DataError
from dcgan.evaluation import ClassifierError
from dcgan.generators import PRETRAINED_PREFIX
from dcgan.jobs import MAX_SEED, JobError, JobManager
from dcgan.runs import Run, RunError, check_run_name, default_runs_dir, list_runs
from dcgan.training import PRECISION_CHOICES, resolve_precision
from dcgan.variants import VARIANTS, VariantError, get_variant

USAGE_ERROR = 2
PROGRESS_INTERVAL_S = 10.0
MAX_SAMPLES = 1024
MAX_EVALUATION_SAMPLES = 20_000
# The Fréchet distance needs a covariance of the 128 classifier features, which
# takes well over 128 samples to estimate.
MIN_EVALUATION_SAMPLES = 200


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


def _generator_name(text: str) -> str:
    if text.startswith(PRETRAINED_PREFIX):
        return text
    return _run_name(text)


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
    train.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="compute precision (default: auto, bfloat16 on CPUs that run it fast)",
    )

    resume = commands.add_parser("resume", help="go on training a run")
    resume.add_argument("name", type=_run_name)
    runs_dir_option(resume)
    resume.add_argument("--epochs", type=_positive, help="total epochs for the run")
    resume.add_argument("--max-steps", type=_positive, help="total steps for the run")

    listing = commands.add_parser("list", help="list runs")
    runs_dir_option(listing)

    sample = commands.add_parser("sample", help="draw digits from a run's generator")
    sample.add_argument(
        "name", type=_generator_name, help="a run, or pretrained:dcgan-1 .. -4"
    )
    sample.add_argument(
        "--out", required=True, dest="out_text", help="PNG file to write"
    )
    sample.add_argument("--n", type=_positive, default=64, help="digits (default 64)")
    sample.add_argument("--seed", type=_seed, default=0)
    runs_dir_option(sample)
    classifier = commands.add_parser("classifier", help="the digit classifier")
    classifier_commands = classifier.add_subparsers(
        dest="classifier_command", required=True, metavar="ACTION"
    )
    classifier_train = classifier_commands.add_parser(
        "train", help="retrain it on MNIST train and save it to assets/"
    )
    classifier_train.add_argument("--epochs", type=_positive, default=3)
    classifier_train.add_argument("--seed", type=_seed, default=0)
    classifier_train.add_argument("--data", help="mnist.npz or a folder of IDX files")
    classifier_evaluate = classifier_commands.add_parser(
        "evaluate", help="its accuracy on the MNIST test set"
    )
    classifier_evaluate.add_argument("--json", action="store_true")
    classifier_evaluate.add_argument("--data", help="mnist.npz or IDX folder")

    evaluate = commands.add_parser("evaluate", help="measure a generator's digits")
    evaluate.add_argument(
        "name", type=_generator_name, help="a run, or pretrained:dcgan-1 .. -4"
    )
    evaluate.add_argument("--n", type=_positive, default=1000, help="digits to draw")
    evaluate.add_argument("--seed", type=_seed, default=0)
    evaluate.add_argument("--json", action="store_true")
    runs_dir_option(evaluate)

    export = commands.add_parser(
        "export", help="ship a run's generator as assets/pretrained/<variant>.npz"
    )
    export.add_argument("name", type=_run_name)
    export.add_argument(
        "--out-dir", type=Path, default=None, help="default: assets/pretrained"
    )
    runs_dir_option(export)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _train_in_foreground(job) -> int:
    """Wait for a job, printing progress; Ctrl-C or SIGTERM stops it cleanly."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while not job.join(timeout=PROGRESS_INTERVAL_S):
            status = job.status
            if status.state == "running" and status.d_loss is not None:
                speed = (
                    f"{status.steps_per_s:.2f} steps/s" if status.steps_per_s else ""
                )
                print(
                    f"step {status.step}/{status.total_steps}  epoch {status.epoch}  "
                    f"d_loss {status.d_loss:.3f}  g_loss {status.g_loss:.3f}  {speed}",
                    flush=True,
                )
    except KeyboardInterrupt:
        # A second Ctrl-C would cut the checkpoint short; it is ignored from here.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
        precision=args.precision,
    )
    # After the start, so a mistake is told without waiting for TensorFlow; the
    # job resolves the same precision, and records it.
    precision = resolve_precision(args.precision)
    print(
        f"training {variant.title} in {precision} as run {name} in {job.run.path}",
        flush=True,
    )
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
    from dcgan import generators, images
    from dcgan.models import draw_digits

    if args.n > MAX_SAMPLES:
        raise UsageError(f"--n must be at most {MAX_SAMPLES}")
    if args.out.suffix.lower() != ".png" or args.out_text.endswith(("/", os.sep)):
        raise UsageError(f"--out must name a .png file, not {args.out_text}")
    if args.out.is_dir():
        raise UsageError(f"--out names a folder: {args.out}")
    if not args.out.parent.is_dir():
        raise UsageError(f"folder {args.out.parent} does not exist")
    generator, variant = generators.load(args.name, args.runs_dir)
    latents = latent.sample(args.n, variant.latent_dim, args.seed)
    digits = draw_digits(generator, variant, latents)
    images.save_grid(digits, args.out)
    print(f"wrote {args.n} digits from run {args.name} to {args.out}")
    return 0


def _command_classifier(args) -> int:
    from dcgan import evaluation
    from dcgan.data import load_mnist

    mnist = load_mnist(args.data)
    if args.classifier_command == "train":
        classifier = evaluation.train_classifier(mnist, args.epochs, args.seed)
        classifier.save()
        card = classifier.card
        print(
            f"test accuracy {card.test_accuracy:.4f} after {card.epochs} epochs "
            f"({card.train_seconds:.0f} s); saved to {evaluation.CLASSIFIER_PATH}"
        )
        return 0
    classifier = evaluation.load_classifier()
    accuracy = evaluation.accuracy_on_test_set(classifier, mnist)
    if args.json:
        print(json.dumps({"test_accuracy": round(accuracy, 4), "test_images":
                          len(mnist.test_images)}))  # fmt: skip
    else:
        print(f"test accuracy {accuracy:.4f} on {len(mnist.test_images)} MNIST digits")
    return 0


def _command_evaluate(args) -> int:
    from dcgan import evaluation

    if not MIN_EVALUATION_SAMPLES <= args.n <= MAX_EVALUATION_SAMPLES:
        raise UsageError(
            f"--n must be between {MIN_EVALUATION_SAMPLES} and "
            f"{MAX_EVALUATION_SAMPLES}, not {args.n}"
        )
    result = evaluation.evaluate_generator(args.name, args.runs_dir, args.n, args.seed)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"{args.name}: {result.samples} digits drawn with seed {args.seed}")
    print(f"  recognisable digits  {result.recognisable_digits}/10")
    print(f"  class histogram      {result.class_histogram}")
    print(f"  mean confidence      {result.mean_confidence:.3f}")
    print(f"  Fréchet distance     {result.frechet_distance:.2f} (lower is better)")
    print(f"  ({evaluation.RECOGNISABLE_RULE})")
    return 0


def _command_export(args) -> int:
    from dcgan import generators

    folder = args.out_dir or generators.PRETRAINED_DIR
    path = generators.publish_pretrained(Run(args.runs_dir, args.name), folder)
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


COMMANDS = {
    "train": _command_train,
    "resume": _command_resume,
    "list": _command_list,
    "sample": _command_sample,
    "classifier": _command_classifier,
    "evaluate": _command_evaluate,
    "export": _command_export,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        args = build_parser().parse_args(argv)
        if hasattr(args, "runs_dir"):
            args.runs_dir = args.runs_dir or default_runs_dir()
            if args.runs_dir.exists() and not args.runs_dir.is_dir():
                raise UsageError(f"the runs folder {args.runs_dir} is a file")
        if hasattr(args, "out_text"):
            args.out = Path(args.out_text)
        return COMMANDS[args.command](args)
    except (
        UsageError, DataError, RunError, JobError, VariantError, ClassifierError
    ) as error:  # fmt: skip
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as error:  # a folder that cannot be written, a full disk
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
