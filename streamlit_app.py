"""DCGAN Studio: train, watch and explore DCGANs on MNIST in a browser."""

import streamlit as st

import dashboard
from dcgan.jobs import JobError

SIDEBAR_REFRESH_S = 10.0

st.set_page_config(page_title="DCGAN Studio", page_icon="🧪", layout="wide")

page = st.navigation(
    [
        st.Page(
            "app_pages/home.py", title="Home", icon=":material/home:", default=True
        ),
        st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("app_pages/latent.py", title="Latent space", icon=":material/blur_on:"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/leaderboard:"),
    ]
)

try:
    manager = dashboard.manager()
except JobError as error:  # a bad DCGAN_MAX_JOBS
    st.error(str(error), icon=":material/error:")
    st.stop()


@st.fragment(run_every=SIDEBAR_REFRESH_S)
def training_jobs() -> None:
    """The jobs training in this app, kept current on every page."""
    for job in manager.alive():
        status = job.status
        icon = dashboard.STATUS_ICONS.get(status.state, "")
        st.caption(
            f"{icon} **{status.run_name}** {status.state}, step {status.step:,} of "
            f"{status.total_steps:,}"
        )


with st.sidebar:
    st.caption(f"Runs folder: `{dashboard.runs_dir()}`")
    training_jobs()

page.run()
