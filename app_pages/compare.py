"""Compare: the post's comparison table, measured on the generators at hand."""

import streamlit as st

import dashboard
from dcgan import evaluation, generators, images, latent, plots
from dcgan.evaluation import Quality
from dcgan.models import draw_digits
from dcgan.runs import RunError, list_runs
from dcgan.variants import VariantError

SAMPLES = generators.EVALUATION_SAMPLES
SEED = generators.EVALUATION_SEED
GRID_SEED = 0  # the 64 latent vectors every grid below draws
TIMING_IMAGES = 1280  # ten batches of real MNIST for the step timing
runs_dir = dashboard.runs_dir()

st.title("Compare")
st.caption(
    f"The post judged its variants by eye. Here a digit classifier judges "
    f"{SAMPLES:,} digits from each generator: {evaluation.RECOGNISABLE_RULE}; the "
    "Fréchet distance compares the classifier's features of the generated digits "
    "with those of MNIST's test set (lower is closer to real digits)."
)

names = generators.pretrained_names()
names += [
    summary.name
    for summary in list_runs(runs_dir)
    if summary.status in ("finished", "stopped")
]
if not names:
    st.info("Nothing to compare: no pretrained generators and no finished runs.")
    st.stop()

qualities, variants = {}, {}
for name in names:
    try:
        step = dashboard.checkpoint_step(name)
        variant = generators.variant_of(name, runs_dir)
        qualities[name] = dashboard.quality(str(runs_dir), name, step, SAMPLES, SEED)
        variants[name] = variant
    except (
        RunError, evaluation.ClassifierError, VariantError, OSError, ValueError
    ) as error:  # fmt: skip
        st.warning(f"{dashboard.generator_label(name)}: not measured ({error})")

step_times = st.session_state.get("step_times", {})
baseline = step_times.get("dcgan-1")
table = []
for name, quality in qualities.items():
    variant = variants[name]
    seconds = step_times.get(variant.name)
    table.append(
        {
            "generator": dashboard.generator_label(name),
            "variant": variant.title,
            "recognisable digits": f"{quality['recognisable_digits']}/10",
            "Fréchet distance": quality["frechet_distance"],
            "mean confidence": quality["mean_confidence"],
            "time per step vs DCGAN-1": (
                f"{seconds / baseline:.0%}" if seconds and baseline else "–"
            ),
        }
    )
st.dataframe(table, hide_index=True)

tanh, sigmoid = qualities.get("pretrained:dcgan-1"), qualities.get("pretrained:dcgan-2")
if tanh and sigmoid:
    fields = ("recognisable_digits", "class_histogram", "mean_confidence",
              "frechet_distance", "samples")  # fmt: skip
    verdict = evaluation.activation_verdict(
        Quality(**{key: tanh[key] for key in fields}),
        Quality(**{key: sigmoid[key] for key in fields}),
    )
    st.markdown(f"**Did tanh to sigmoid matter?** {verdict}")

if st.button("Time a training step of each variant on this machine",
             icon=":material/timer:"):  # fmt: skip
    from dcgan.data import DataError, load_mnist
    from dcgan.training import time_training_step
    from dcgan.variants import VARIANTS

    try:
        mnist = load_mnist()
    except DataError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    part = type(mnist)(
        mnist.train_images[:TIMING_IMAGES], mnist.train_labels[:TIMING_IMAGES],
        mnist.test_images, mnist.test_labels, mnist.source,
    )  # fmt: skip
    with st.spinner("Timing ten training steps of each variant, one after another ..."):
        st.session_state["step_times"] = {
            name: time_training_step(variant, part)
            for name, variant in VARIANTS.items()
        }
    st.rerun()
st.caption(
    "Step times are measured side by side, one variant after the other, on this "
    "machine now (batch 128, in the precision a new run uses here, median of ten "
    "steps after two warm-up steps)."
    + (
        " Measured: "
        + ", ".join(
            f"{name} {seconds * 1000:.0f} ms" for name, seconds in step_times.items()
        )
        if step_times
        else ""
    )
)

if not variants:
    st.stop()
st.subheader("Samples from the same latent vectors")
columns = st.columns(min(4, len(variants)))
for index, name in enumerate(variants):
    try:
        generator, variant = dashboard.generator(
            str(runs_dir), name, dashboard.checkpoint_step(name)
        )
    except (RunError, OSError, ValueError) as error:
        columns[index % len(columns)].error(f"{name}: cannot load ({error})")
        continue
    latents = latent.sample(64, variant.latent_dim, GRID_SEED)
    digits = draw_digits(generator, variant, latents)
    columns[index % len(columns)].image(
        images.to_png(images.tile(digits, cols=8), scale=2),
        caption=dashboard.generator_label(name),
    )

st.plotly_chart(
    plots.histogram_figure(
        {
            dashboard.generator_label(n): q["class_histogram"]
            for n, q in qualities.items()
        }
    )
)
