"""DCGAN Studio: train, watch and explore DCGANs on MNIST in a browser."""

import streamlit as st

import dashboard

st.set_page_config(page_title="DCGAN Studio", page_icon="🧪", layout="wide")

page = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/latent.py", title="Latent space", icon=":material/blur_on:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:"),
    ]
)

with st.sidebar:
    st.caption(f"Runs folder: `{dashboard.runs_dir()}`")
    for job in dashboard.manager().alive():
        status = job.status
        st.caption(
            f"{dashboard.STATUS_ICONS.get(status.state, '')} **{status.run_name}** "
            f"{status.state}, step {status.step}/{status.total_steps}"
        )

page.run()
