"""Training speed: the product's trainer against a reference loop, side by side.

The reference trains the same variant the way TensorFlow's DCGAN tutorial does: a
`tf.function` step with two GradientTapes, fed by a shuffled, batched `tf.data`
pipeline of the in-memory images, with Keras' stock layers in float32. The
trainer is the product's own: a real run in a temporary folder, trained by
`GanTrainer.fit()`, its speed read from the run's history.csv exactly as the CLI
and the Train page read it.

Both train on full MNIST with the variant's batch, in one process, after the
same number of warm-up steps. The reference runs half its steps before the
trainer and half after, so a machine that slows down or speeds up meanwhile
weighs on both alike.

    python benchmarks/train_speed.py --variant dcgan-2 --steps 40 --json

With --json the last line is one JSON object with every number printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dcgan import backend, models
from dcgan.data import DataError, load_mnist, scale_images
from dcgan.runs import Run
from dcgan.training import PRECISION_CHOICES, Callback, Control, GanTrainer
from dcgan.variants import VARIANTS

MATMUL_SIZE = 2048


def matmul_flops_per_s(dtype: str, repeats: int = 5) -> float:
    """The best of `repeats` timings of a square float matmul, in FLOP/s."""
    tf = backend.tensorflow()
    a = tf.cast(tf.random.normal([MATMUL_SIZE, MATMUL_SIZE], seed=0), dtype)
    multiply = tf.function(lambda x: tf.matmul(x, x))
    multiply(a).numpy()  # compile and warm the caches
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(4):
            product = multiply(a)
        product.numpy()
        best = min(best, (time.perf_counter() - started) / 4)
    return 2 * MATMUL_SIZE**3 / best


class _Loop:
    """Both networks, their optimizers, and the tutorial's training step.

    `precision` None builds Keras' stock layers in float32, else the product's
    training models (fused batch norm) in that precision.
    """

    def __init__(self, variant, precision: str | None = None, seed: int = 0):
        keras = backend.keras()
        keras.utils.set_random_seed(seed)
        self.variant = variant
        self.generator = models.build_generator(variant, precision)
        self.discriminator = models.build_discriminator(variant, precision)
        self.g_optimizer = keras.optimizers.Adam(variant.learning_rate, variant.beta_1)
        self.d_optimizer = keras.optimizers.Adam(variant.learning_rate, variant.beta_1)

    def _step(self, real_images):
        tf = backend.tensorflow()
        bce = backend.keras().losses.BinaryCrossentropy()
        noise = tf.random.normal([self.variant.batch_size, self.variant.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated = self.generator(noise, training=True)
            real_output = self.discriminator(real_images, training=True)
            fake_output = self.discriminator(generated, training=True)
            g_loss = bce(tf.ones_like(fake_output), fake_output)
            d_loss = bce(tf.ones_like(real_output), real_output) + bce(
                tf.zeros_like(fake_output), fake_output
            )
        g_variables = self.generator.trainable_variables
        d_variables = self.discriminator.trainable_variables
        g_gradients = g_tape.gradient(g_loss, g_variables)
        d_gradients = d_tape.gradient(d_loss, d_variables)
        self.g_optimizer.apply_gradients(zip(g_gradients, g_variables))
        self.d_optimizer.apply_gradients(zip(d_gradients, d_variables))
        return d_loss


class ReferenceLoop(_Loop):
    """A DCGAN training loop written as TensorFlow's tutorial writes it."""

    def __init__(self, variant, train_images: np.ndarray, seed: int = 0):
        super().__init__(variant, seed=seed)
        tf = backend.tensorflow()
        images = scale_images(train_images, variant.data_range)
        dataset = (
            tf.data.Dataset.from_tensor_slices(images)
            .shuffle(len(images), seed=seed)
            .batch(variant.batch_size, drop_remainder=True)
            .repeat()
        )
        self.batches = iter(dataset)
        self.step = tf.function(self._step)

    def train(self, steps: int) -> float:
        """Seconds for `steps` training steps, including fetching their batches."""
        started = time.perf_counter()
        for _ in range(steps):
            d_loss = self.step(next(self.batches))
        float(d_loss)  # the last step has finished
        return time.perf_counter() - started


class InMemoryLoop(_Loop):
    """The reference's step with the product's choices, one at a time.

    Batches are gathered in the graph from one tensor of all images, by indices
    from a shuffled order; `precision` None keeps Keras' stock layers, else the
    training models (fused batch norm) in that precision; `steps_per_call` steps
    run in one compiled call; `xla` compiles it with XLA.
    """

    def __init__(
        self, variant, train_images, precision=None, steps_per_call=1, xla=False
    ):
        super().__init__(variant, precision)
        tf = backend.tensorflow()
        self.images = tf.constant(scale_images(train_images, variant.data_range))
        self.order = np.random.default_rng(0).permutation(len(train_images))
        self.steps_per_call = steps_per_call
        self.position = 0
        self.step = tf.function(self._steps, jit_compile=xla)

    def _steps(self, indices):
        tf = backend.tensorflow()
        for index in range(self.steps_per_call):
            d_loss = self._step(tf.gather(self.images, indices[index]))
        return d_loss

    def train(self, steps: int) -> float:
        batch, per_call = self.variant.batch_size, self.steps_per_call
        per_epoch = len(self.order) // (batch * per_call)
        started = time.perf_counter()
        for _ in range(max(1, steps // per_call)):
            start = self.position % per_epoch * batch * per_call
            indices = self.order[start : start + batch * per_call]
            d_loss = self.step(indices.reshape(per_call, batch).astype(np.int32))
            self.position += 1
        float(d_loss)
        return time.perf_counter() - started


ABLATION = {
    "reference: tf.data, Keras layers, float32": {},
    "in-memory batches": {"precision": None},
    "+ fused batch norm": {"precision": "float32"},
    "+ bfloat16": {"precision": "bfloat16"},
    "+ 4 steps per call": {"precision": "bfloat16", "steps_per_call": 4},
    "fused, float32, XLA": {"precision": "float32", "xla": True},
    "fused, bfloat16, XLA": {"precision": "bfloat16", "xla": True},
}


def ablation(variant, train_images, warmup: int, steps: int, rounds: int = 3):
    """Seconds per step of each ABLATION loop: the median of interleaved rounds."""
    loops = {}
    for name, settings in ABLATION.items():
        if settings:
            loop = InMemoryLoop(variant, train_images, **settings)
        else:
            loop = ReferenceLoop(variant, train_images)
        loop.train(warmup)
        loops[name] = loop
    timings = {name: [] for name in loops}
    for _ in range(rounds):
        for name, loop in loops.items():
            timings[name].append(loop.train(steps) / steps)
    return {name: float(np.median(values)) for name, values in timings.items()}


def trainer_speed(variant, data, warmup: int, steps: int, precision: str) -> dict:
    """Steps/s of GanTrainer.fit() over steps warmup+1 .. warmup+steps."""
    with tempfile.TemporaryDirectory() as folder:
        run = Run(folder, "benchmark")
        run.create(
            {
                "variant": variant.to_dict(),
                "seed": 0,
                "epochs": 1000,  # the step limit ends the run, whatever the data
                "max_steps": warmup + steps,
                "precision": precision,
            }
        )
        trainer = GanTrainer(run, data)
        trainer.fit()
        elapsed = run.read_history()["elapsed_s"]
        return {
            "steps_per_s": steps / (elapsed[warmup + steps - 1] - elapsed[warmup - 1]),
            "precision": trainer.precision,
            "xla": trainer.xla,
        }


class _Signals(Callback):
    """The last step the trainer finished, and an event set when it pauses."""

    def __init__(self):
        self.step = 0
        self.paused = threading.Event()

    def on_step_end(self, logs):
        self.step = logs["step"]

    def on_pause(self, paused):
        if paused:
            self.paused.set()


def _check_alive(thread) -> None:
    if not thread.is_alive():
        raise SystemExit("the trainer ended before the pause and stop were timed")


def _wait_for_steps(signals: _Signals, steps: int, thread) -> None:
    target = signals.step + steps
    while signals.step < target:
        _check_alive(thread)
        time.sleep(0.005)


def control_latency(variant, data, precision: str, pauses: int = 3) -> dict:
    """Seconds from asking to pause (the worst of `pauses`) or stop to it happening.

    A pause counts once the loop has saved its checkpoint and reported itself
    paused; a stop once fit() has returned, with the checkpoint, the final samples
    and the exported generator written.
    """
    with tempfile.TemporaryDirectory() as folder:
        run = Run(folder, "control")
        run.create(
            {
                "variant": variant.to_dict(),
                "seed": 0,
                "epochs": 1000,  # never reached: the run is stopped
                "precision": precision,
            }
        )
        control, signals = Control(), _Signals()
        trainer = GanTrainer(run, data, control, [signals])
        thread = threading.Thread(target=trainer.fit)
        thread.start()
        pause_s = []
        for _ in range(pauses):
            _wait_for_steps(signals, 3, thread)
            signals.paused.clear()
            started = time.perf_counter()
            control.pause()
            while not signals.paused.wait(0.005):
                _check_alive(thread)
            pause_s.append(time.perf_counter() - started)
            control.resume()
        _wait_for_steps(signals, 3, thread)
        started = time.perf_counter()
        control.stop()
        thread.join()
        return {"pause_s": max(pause_s), "stop_s": time.perf_counter() - started}


def cpu_name() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=list(VARIANTS), default="dcgan-2")
    parser.add_argument("--steps", type=int, default=40, help="timed steps of each")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto")
    parser.add_argument("--data", help="mnist.npz or IDX folder (default sources)")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="time each of the trainer's choices alone instead",
    )
    parser.add_argument("--json", action="store_true", help="end with a JSON line")
    args = parser.parse_args(argv)
    if args.steps < 2 or args.warmup < 1:
        parser.error("--steps must be at least 2 and --warmup at least 1")

    variant = VARIANTS[args.variant]
    try:
        data = load_mnist(args.data)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tf = backend.tensorflow()
    if args.ablation:
        # Every loop trains the same steps, a whole number of 4-step calls.
        steps = -(-args.steps // 4) * 4
        per_step = ablation(variant, data.train_images, args.warmup, steps)
        reference = next(iter(per_step.values()))
        print(
            f"{variant.title}, batch {variant.batch_size}: the median of 3 rounds "
            f"of {steps} steps, the loops taking turns"
        )
        for name, seconds in per_step.items():
            print(f"{name:44}{seconds * 1000:8.1f} ms/step{reference / seconds:7.2f}x")
        if args.json:
            ms = {name: round(seconds * 1000, 1) for name, seconds in per_step.items()}
            print(
                json.dumps({"variant": variant.name, "steps": steps, "ms_per_step": ms})
            )
        return 0
    floors = {dtype: matmul_flops_per_s(dtype) for dtype in ("float32", "bfloat16")}

    reference = ReferenceLoop(variant, data.train_images)
    reference.train(args.warmup)
    first_half = args.steps // 2
    reference_s = reference.train(first_half)
    trainer = trainer_speed(variant, data, args.warmup, args.steps, args.precision)
    reference_s += reference.train(args.steps - first_half)
    reference_speed = args.steps / reference_s
    latency = control_latency(variant, data, args.precision)

    flops = models.training_step_flops(variant)
    batch = variant.batch_size
    trainer_floor = floors[trainer["precision"]]
    result = {
        "variant": variant.name,
        "batch_size": batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "train_images": len(data.train_images),
        "reference_steps_per_s": round(reference_speed, 3),
        "trainer_steps_per_s": round(trainer["steps_per_s"], 3),
        "ratio": round(trainer["steps_per_s"] / reference_speed, 3),
        "reference_images_per_s": round(reference_speed * batch, 1),
        "trainer_images_per_s": round(trainer["steps_per_s"] * batch, 1),
        "trainer_precision": trainer["precision"],
        "trainer_xla": trainer["xla"],
        "pause_s": round(latency["pause_s"], 3),
        "stop_s": round(latency["stop_s"], 3),
        "step_gflop": round(flops / 1e9, 2),
        "matmul_gflop_per_s_float32": round(floors["float32"] / 1e9, 1),
        "matmul_gflop_per_s_bfloat16": round(floors["bfloat16"] / 1e9, 1),
        "reference_floor_share": round(reference_speed * flops / floors["float32"], 3),
        "trainer_floor_share": round(trainer["steps_per_s"] * flops / trainer_floor, 3),
        "device": backend.device_name(),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
    }

    print(
        f"{variant.title}, batch {batch}: {args.steps} timed steps each, after "
        f"{args.warmup} warm-up steps"
    )
    print(
        f"{result['device']}: {result['cpu']}, {result['cores']} cores; "
        f"TensorFlow {result['tensorflow']}"
    )
    print(f"one training step: {result['step_gflop']} GFLOP (dense and conv layers)")
    print(
        f"matmul {MATMUL_SIZE}x{MATMUL_SIZE}: "
        f"{result['matmul_gflop_per_s_float32']} GFLOP/s float32, "
        f"{result['matmul_gflop_per_s_bfloat16']} GFLOP/s bfloat16"
    )
    print(f"{'':28}{'steps/s':>9}{'images/s':>10}{'of matmul':>11}")
    print(
        f"{'reference (tf.data, fp32)':28}{reference_speed:9.2f}"
        f"{result['reference_images_per_s']:10.0f}"
        f"{result['reference_floor_share']:11.0%}"
    )
    label = f"trainer ({trainer['precision']}{', XLA' if trainer['xla'] else ''})"
    print(
        f"{label:28}{trainer['steps_per_s']:9.2f}"
        f"{result['trainer_images_per_s']:10.0f}{result['trainer_floor_share']:11.0%}"
    )
    print(f"ratio trainer / reference: {result['ratio']:.2f}")
    print(
        f"the trainer paused {result['pause_s']:.2f} s after being asked (the worst "
        f"of 3) and stopped {result['stop_s']:.2f} s after"
    )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
