"""Latent space: one walk between two points, drawn by several generators."""

import streamlit as st

import dashboard
from dcgan import images, latent
from dcgan.models import generate
from dcgan.runs import Run, RunError, list_runs

runs_dir = dashboard.runs_dir()

st.title("Latent space")
st.caption(
    "Two seeds pick two points in the 100-dimensional latent space; the walk "
    "between them goes through every generator, so each row shows the same latent "
    "vectors drawn by a different network."
)

runs = [Run(runs_dir, summary.name) for summary in list_runs(runs_dir)]
trained = {run.name: run for run in runs if run.latest_checkpoint() is not None}
if not trained:
    st.info(
        "No generator to draw with yet: train a run first (a few hundred steps are "
        "enough to see digits start to form).",
        icon=":material/info:",
    )
    st.page_link(
        "pages/train.py", label="Train a variant", icon=":material/model_training:"
    )
    st.stop()

selected = st.multiselect("Generators", list(trained), default=list(trained)[:4])
seed_col, seed_col_2, steps_col, method_col = st.columns(4)
seed_a = seed_col.number_input("From seed", 0, 2**31 - 1, 0)
seed_b = seed_col_2.number_input("To seed", 0, 2**31 - 1, 1)
steps = steps_col.slider("Steps", 2, 16, 9)
method = method_col.radio(
    "Path", latent.METHODS, index=1, horizontal=True, help="lerp: a straight line; "
    "slerp: along the sphere where Gaussian samples live"
)  # fmt: skip

if not selected:
    st.info("Pick at least one generator.")
    st.stop()

for name in selected:
    run = trained[name]
    checkpoint = run.latest_checkpoint()
    try:
        generator, variant = dashboard.run_generator(
            str(runs_dir), name, checkpoint.step
        )
    except (RunError, OSError, ValueError) as error:
        st.error(f"{name}: cannot load its generator ({error})")
        continue
    start = latent.sample(1, variant.latent_dim, int(seed_a))[0]
    end = latent.sample(1, variant.latent_dim, int(seed_b))[0]
    path = latent.walk(start, end, steps, method)
    digits = images.to_uint8(generate(generator, path), variant.data_range)
    st.image(
        images.to_png(images.tile(digits, cols=steps), scale=3),
        caption=f"{name} · {variant.title} · step {checkpoint.step:,}",
    )
