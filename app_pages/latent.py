"""Latent space: one walk between two points, drawn by several generators."""

import numpy as np
import streamlit as st

import dashboard
from dcgan import generators, images, latent
from dcgan.jobs import MAX_SEED
from dcgan.models import draw_digits
from dcgan.runs import Run, RunError, list_runs

runs_dir = dashboard.runs_dir()
DIGIT_SCALE = 3  # pixels per MNIST pixel on screen
GIF_SCALE = 4

st.title("Latent space")
st.caption(
    "Two seeds pick two points in the latent space; the walk between them goes "
    "through every generator, so each row shows the same latent vectors drawn by a "
    "different network."
)

shipped = generators.pretrained_names()
runs = [Run(runs_dir, summary.name) for summary in list_runs(runs_dir)]
trained = [run.name for run in runs if run.latest_checkpoint() is not None]
choices = shipped + trained
if not choices:
    st.info("No generator to draw with yet: train a run first.", icon=":material/info:")
    st.page_link(
        "app_pages/train.py", label="Train a variant", icon=":material/model_training:"
    )
    st.stop()

selected = st.multiselect(
    "Generators",
    choices,
    default=shipped[:4] or trained[:4],
    format_func=dashboard.generator_label,
    help="The four pretrained variants ship with the app; your runs can be added.",
)
seed_col, seed_col_2, steps_col, method_col = st.columns(4)
seed_a = seed_col.number_input("From seed", 0, MAX_SEED, 0)
seed_b = seed_col_2.number_input("To seed", 0, MAX_SEED, 1)
steps = steps_col.slider("Steps", 2, 16, 9)
method = method_col.radio(
    "Path", latent.METHODS, index=1, horizontal=True, help="lerp: a straight line; "
    "slerp: along the sphere where Gaussian samples live"
)  # fmt: skip

if not selected:
    st.info("Pick at least one generator.")
    st.stop()

rows = []
for name in selected:
    try:
        generator, variant = dashboard.generator(
            str(runs_dir), name, dashboard.checkpoint_step(name)
        )
    except (RunError, OSError, ValueError) as error:
        st.error(f"{name}: cannot load its generator ({error})")
        continue
    start = latent.sample(1, variant.latent_dim, int(seed_a))[0]
    end = latent.sample(1, variant.latent_dim, int(seed_b))[0]
    path = latent.walk(start, end, steps, method)
    digits = draw_digits(generator, variant, path)
    rows.append(digits)
    st.image(
        images.to_png(images.tile(digits, cols=steps), scale=DIGIT_SCALE),
        caption=f"{dashboard.generator_label(name)} · {variant.title}",
    )

if rows:
    # One frame per step: the generators' digits at that step, side by side.
    frames = [images.tile(np.stack(column), cols=len(rows)) for column in zip(*rows)]
    frames += frames[-2:0:-1]  # and back again, so the loop has no jump
    st.download_button(
        "Download the walk as a GIF",
        images.to_gif(frames, frame_ms=150, scale=GIF_SCALE),
        file_name=f"walk-{seed_a}-{seed_b}-{method}.gif",
        mime="image/gif",
        icon=":material/download:",
    )
