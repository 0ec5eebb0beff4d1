"""Where a generator comes from: a run's latest checkpoint, or a shipped file.

A generator is named by a run name (`demo`) or by `pretrained:<variant>`
(`pretrained:dcgan-2`); either way it loads as (Keras model, Variant).
Shipped generators are float16 weights in `assets/pretrained/<variant>.npz`, with
the variant spec and a record of how they were trained.
"""

from __future__ import annotations

import json
import os
import platform
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from dcgan.models import build_generator
from dcgan.runs import Run, RunError
from dcgan.variants import Variant

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "assets" / "pretrained"
PRETRAINED_PREFIX = "pretrained:"
# Shipped generators are measured on the same digits the CLI's evaluate draws.
EVALUATION_SAMPLES = 1000
EVALUATION_SEED = 0


def pretrained_names(folder: Path = PRETRAINED_DIR) -> list[str]:
    """`pretrained:<variant>` for each shipped generator, in variant order."""
    return [f"{PRETRAINED_PREFIX}{path.stem}" for path in sorted(folder.glob("*.npz"))]


def pretrained_record(name: str, folder: Path = PRETRAINED_DIR) -> dict:
    """How a shipped generator was trained and measured (from its file)."""
    path = _pretrained_path(name, folder)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return json.loads(str(arrays["record"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise RunError(f"cannot read {path}: {error}") from None


def _pretrained_path(name: str, folder: Path) -> Path:
    variant = name.removeprefix(PRETRAINED_PREFIX)
    path = folder / f"{variant}.npz"
    if not path.exists() or "/" in variant or variant.startswith("."):
        choices = ", ".join(pretrained_names(folder)) or "none shipped"
        raise RunError(f"no pretrained generator {name!r} (choose from {choices})")
    return path


def variant_of(name: str, runs_dir, folder: Path = PRETRAINED_DIR) -> Variant:
    """The variant of generator `name`, read without loading any weights."""
    if name.startswith(PRETRAINED_PREFIX):
        return Variant.from_dict(pretrained_record(name, folder)["variant"])
    return Variant.from_dict(Run(runs_dir, name).read_config()["variant"])


def load(name: str, runs_dir: str | os.PathLike, folder: Path = PRETRAINED_DIR):
    """The generator called `name` (a run or `pretrained:<variant>`), and its variant.

    Raises RunError when there is no such generator or the run has no checkpoint.
    """
    if name.startswith(PRETRAINED_PREFIX):
        path = _pretrained_path(name, folder)
        try:
            with np.load(path, allow_pickle=False) as arrays:
                record = json.loads(str(arrays["record"]))
                variant = Variant.from_dict(record["variant"])
                generator = build_generator(variant)
                count = len(generator.weights)
                generator.set_weights(
                    [arrays[f"w/{i}"].astype(np.float32) for i in range(count)]
                )
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as error:
            raise RunError(f"cannot read {path}: {error}") from None
        return generator, variant
    return load_run_generator(Run(runs_dir, name))


def load_run_generator(run: Run):
    """A run's generator at its latest checkpoint, and the run's variant."""
    variant = Variant.from_dict(run.read_config()["variant"])
    found = run.newest_readable_checkpoint()
    if found is None:
        raise RunError(f"run {run.name!r} has no checkpoint yet")
    checkpoint, arrays = found
    generator = build_generator(variant)
    try:
        weights = [arrays[f"generator/{i}"] for i in range(len(generator.weights))]
        generator.set_weights(weights)
    except (KeyError, ValueError) as error:
        raise RunError(
            f"checkpoint {checkpoint.path.name} of run {run.name!r} does not fit "
            f"its variant ({error})"
        ) from None
    return generator, variant


def export_pretrained(run: Run, record: dict, folder: Path = PRETRAINED_DIR) -> Path:
    """Write a run's generator as float16 weights with `record`, for shipping."""
    generator, variant = load_run_generator(run)
    arrays = {
        f"w/{i}": weight.astype(np.float16)
        for i, weight in enumerate(generator.get_weights())
    }
    arrays["record"] = np.array(json.dumps({**record, "variant": variant.to_dict()}))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{variant.name}.npz"
    np.savez_compressed(path, **arrays)
    return path


def _hardware() -> str:
    """The CPU model and core count, and the device TensorFlow trains on."""
    from dcgan.backend import device_name

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, training on {device_name()}"


def publish_pretrained(run: Run, folder: Path = PRETRAINED_DIR) -> Path:
    """Ship a run's generator: float16 weights, its record, and a Markdown card.

    The measures are taken from the shipped float16 weights, so the card
    describes exactly what a user loads.
    """
    from dcgan import evaluation

    config = run.read_config()
    history = run.read_history()
    if not len(history["step"]):
        raise RunError(f"run {run.name!r} has not trained yet")
    elapsed = history["elapsed_s"]
    # The first steps include tracing the train step; time the rest.
    warm = min(10, len(elapsed) - 1)
    per_step = (elapsed[-1] - elapsed[warm]) / max(1, len(elapsed) - 1 - warm)
    record = {
        "run": run.name,
        "epochs": int(history["epoch"][-1]),
        "steps": int(history["step"][-1]),
        "batch_size": variant_batch(config),
        "train_images": config.get("train_images"),
        "seed": config["seed"],
        "data_source": config.get("data_source"),
        "hardware": _hardware(),
        "wall_time_s": round(float(elapsed[-1]), 1),
        "seconds_per_step": round(float(per_step), 4),
        "trained": config.get("updated"),
    }
    path = export_pretrained(run, record, folder)
    name = f"{PRETRAINED_PREFIX}{path.stem}"
    drawn = evaluation.draw(name, None, EVALUATION_SAMPLES, EVALUATION_SEED, folder)
    quality = evaluation.measure(evaluation.load_classifier(), drawn)
    record["quality"] = {**quality.to_dict(), "seed": EVALUATION_SEED}
    path = export_pretrained(run, record, folder)
    path.with_suffix(".md").write_text(_card(path.stem, record))
    return path


def variant_batch(config: dict) -> int:
    """The batch size a run trained with."""
    return int(config["variant"]["batch_size"])


def _card(variant_name: str, record: dict) -> str:
    from dcgan.evaluation import RECOGNISABLE_RULE

    quality = record["quality"]
    minutes = record["wall_time_s"] / 60
    # A source given as a path names only its file: the folder was the trainer's.
    source = re.sub(r"\(?/\S*/([^/\s)]+)\)?", r"(\1)", str(record["data_source"]))
    images = f"{record['train_images']:,}" if record.get("train_images") else "the"
    evaluate = (
        f"python -m dcgan evaluate pretrained:{variant_name} "
        f"--n {quality['samples']} --seed {quality['seed']}"
    )
    return f"""# Pretrained generator: {variant_name}

Trained by this product's own command line on {images} MNIST training digits, then
exported:

    python -m dcgan train --variant {variant_name} --seed {record["seed"]} \\
        --epochs {record["epochs"]} --run {record["run"]}
    python -m dcgan export {record["run"]}

(A run may also be trained in parts, `resume --epochs N` going on from its last
checkpoint with the same batches and noise as a run trained straight through.)

| | |
|---|---|
| epochs | {record["epochs"]} |
| steps | {record["steps"]:,} (batch {record["batch_size"]}) |
| seed | {record["seed"]} |
| data | {source} |
| hardware | {record["hardware"]} |
| wall time | {minutes:.1f} min ({record["seconds_per_step"]:.3f} s per step) |
| weights | generator only, float16 |

The machine was shared with other work while this trained, so its times are an
upper bound; the Compare page times the variants side by side on yours.

Measured on {quality["samples"]} digits drawn with latent seed {quality["seed"]}, from
the float16 weights as shipped:

    {evaluate}

| measure | value |
|---|---|
| recognisable digits | {quality["recognisable_digits"]}/10 |
| Fréchet distance to MNIST test | {quality["frechet_distance"]} |
| mean classifier confidence | {quality["mean_confidence"]} |
| class histogram (digits 0-9) | {quality["class_histogram"]} |

Recognisable: {RECOGNISABLE_RULE}.
"""
