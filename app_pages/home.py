"""Home: what DCGAN Studio is, the four variants at a glance, where to start."""

import streamlit as st

from dcgan.models import discriminator_plan, generator_plan, parameter_count
from dcgan.variants import VARIANTS

st.title("DCGAN Studio")
st.markdown(
    "Train the four DCGAN variants of *Activation Functions Killed My GAN* on MNIST "
    "digits, watch them learn live, and walk through their latent spaces side by "
    "side. Training runs in the background: close the tab, come back, it is still "
    "there."
)

st.subheader("The four variants")
columns = st.columns(len(VARIANTS))
for column, variant in zip(columns, VARIANTS.values(), strict=True):
    with column.container(border=True):
        st.markdown(f"**{variant.title}**")
        st.caption(variant.description)
        st.markdown(
            f"- output: `{variant.output_activation}`, data in "
            f"{list(variant.data_range)}\n"
            f"- kernels: {variant.kernel_size}x{variant.kernel_size}\n"
            f"- generator: {parameter_count(generator_plan(variant)):,} parameters\n"
            f"- discriminator: {parameter_count(discriminator_plan(variant)):,} "
            "parameters"
        )

st.subheader("Where to start")
left, right = st.columns(2)
with left:
    st.page_link(
        "app_pages/train.py", label="Train a variant", icon=":material/model_training:"
    )
    st.caption(
        "Pick a variant, start a run, and watch its losses, discriminator accuracy "
        "and sample digits update as it trains. Pause, resume or stop at any time."
    )
with right:
    st.page_link(
        "app_pages/latent.py", label="Explore latent space", icon=":material/blur_on:"
    )
    st.caption(
        "Walk between two random points and see the same latent vectors drawn by "
        "each of your generators, row by row."
    )
st.caption(
    "All variants share: latent size 100, Adam (learning rate 2e-4, beta_1 0.5), "
    "batch 128, binary cross-entropy, LeakyReLU(0.2), one D and one G update per "
    "batch. The command line `python -m dcgan` trains the same runs headless."
)
