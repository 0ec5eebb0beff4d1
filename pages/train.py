"""Train: start a run, watch it learn live, pause, resume, stop."""

import time

import streamlit as st

import dashboard
from dcgan import health, plots
from dcgan.data import DataError
from dcgan.evaluation import EPOCH_SAMPLES, RECOGNISABLE_RULE
from dcgan.jobs import MAX_EPOCHS, MAX_SEED, MAX_STEPS, JobError
from dcgan.models import describe, discriminator_plan, generator_plan, parameter_count
from dcgan.runs import Run, RunError, list_runs, recent_speed, summarize
from dcgan.variants import VARIANTS

REFRESH_S = 2.0  # how often a live run's panel redraws
LIVE_STATES = ("starting", "running", "paused", "stopping")
USER_ERRORS = (JobError, RunError, DataError)

manager = dashboard.manager()
runs_dir = dashboard.runs_dir()

st.title("Train")

# -- a new run -----------------------------------------------------------------

with st.container(border=True):
    st.subheader("New run")
    settings, architecture = st.columns([2, 3])
    with settings:
        variant_name = st.selectbox(
            "Variant", list(VARIANTS), format_func=lambda name: VARIANTS[name].title
        )
        variant = VARIANTS[variant_name]
        st.caption(variant.description)
        epochs = st.number_input("Epochs", 1, MAX_EPOCHS, variant.epochs)
        seed = st.number_input("Seed", 0, MAX_SEED, 0)
        with st.expander("More settings"):
            run_name = st.text_input(
                "Run name",
                placeholder="variant-date-time when empty",
                key="new_run_name",
            )
            max_steps = st.number_input(
                "Stop after step (0 trains every epoch)", 0, MAX_STEPS, 0
            )
        start = st.button(
            "Start training", type="primary", icon=":material/play_arrow:"
        )
    with architecture:
        g_params = parameter_count(generator_plan(variant))
        d_params = parameter_count(discriminator_plan(variant))
        left, right = st.columns(2)
        left.metric("Generator parameters", f"{g_params:,}")
        right.metric("Discriminator parameters", f"{d_params:,}")
        with st.expander("Layers and output shapes"):
            st.dataframe(describe(variant), hide_index=True)

    if start:
        name = run_name.strip() or f"{variant.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            with st.spinner("Loading MNIST and starting ..."):
                manager.start(
                    name,
                    variant,
                    epochs=int(epochs),
                    max_steps=int(max_steps) or None,
                    seed=int(seed),
                )
        except USER_ERRORS as error:
            st.error(str(error), icon=":material/error:")
        else:
            st.session_state["selected_run"] = name
            st.toast(f"Training {variant.title} as {name}")


# -- one run, live ---------------------------------------------------------------


def run_controls(run: Run, state: str, config: dict) -> None:
    """Pause / resume / stop for a job of this app; resume for a run at rest."""
    job = manager.get(run.name)
    if job is not None and state in LIVE_STATES:
        pause, stop, _ = st.columns([1, 1, 4])
        if state == "paused":
            pause.button("Resume", icon=":material/play_arrow:", on_click=job.resume)
        else:
            pause.button("Pause", icon=":material/pause:", on_click=job.pause)
        stop.button("Stop", icon=":material/stop:", on_click=job.stop)
        return
    if state == "running":
        st.caption("This run is being trained by another process (the command line).")
        return
    if state in ("stopped", "interrupted", "failed", "finished", "paused", "created"):
        epochs_col, button_col = st.columns([1, 2], vertical_alignment="bottom")
        total_epochs = epochs_col.number_input(
            "Train to epoch",
            1,
            MAX_EPOCHS,
            int(config.get("epochs", 1)),
            key=f"resume_epochs_{run.name}",
        )
        if button_col.button("Resume training", icon=":material/replay:"):
            try:
                manager.resume(run.name, epochs=int(total_epochs))
            except USER_ERRORS as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.rerun()


def show_run(name: str) -> None:
    """Status, progress, controls, curves and samples of run `name`."""
    run = Run(runs_dir, name)
    try:
        summary = summarize(run)
        config = run.read_config()
    except RunError as error:
        st.error(str(error))
        return
    job = manager.get(name)
    state = job.status.state if job and job.status.alive else summary.status
    history = run.read_history()
    step = int(history["step"][-1]) if len(history["step"]) else summary.step
    total = int(config.get("total_steps") or 0)
    speed = recent_speed(history) if state == "running" else None

    icon = dashboard.STATUS_ICONS.get(state, "")
    st.markdown(f"#### {icon} {name} · {summary.variant} · {state}")
    if state == "failed":
        st.error(f"Training failed: {config.get('error')}", icon=":material/error:")
    if state == "interrupted":
        st.warning(
            "This run stopped without saying so (the app or machine was shut down). "
            "Resume it from its last checkpoint.",
            icon=":material/warning:",
        )

    eta = (total - step) / speed if speed else None
    per_epoch = config.get("steps_per_epoch") or 0
    epoch = (step - 1) // per_epoch + 1 if per_epoch and step else 0
    progress_text = (
        f"step {step:,} of {total:,} · epoch {epoch} of {config.get('epochs')} · "
        f"{speed or 0:.2f} steps/s · ETA {dashboard.format_duration(eta)}"
    )
    st.progress(min(1.0, step / total) if total else 0.0, text=progress_text)
    run_controls(run, state, config)

    metrics = run.read_metrics()
    for message in health.warnings(history, metrics):
        st.warning(message, icon=":material/monitor_heart:")
    if len(history["step"]):
        losses, accuracy = st.columns(2)
        losses.plotly_chart(plots.loss_figure(history), key=f"loss_{name}")
        accuracy.plotly_chart(plots.accuracy_figure(history), key=f"acc_{name}")
    else:
        st.info("The curves appear after the first training steps.")
    if len(metrics["epoch"]):
        quality_col, note_col = st.columns([2, 1])
        quality_col.plotly_chart(plots.quality_figure(metrics), key=f"quality_{name}")
        note_col.caption(
            f"After each epoch a digit classifier looks at {EPOCH_SAMPLES} generated "
            f"digits: {RECOGNISABLE_RULE}. The Fréchet distance compares the "
            "classifier's features of generated and real test digits (lower is "
            "closer). A fall in recognisable digits often means mode collapse."
        )

    latest = run.latest_sample_path()
    epoch_grids = run.epoch_samples()
    latest_col, epochs_col = st.columns(2)
    with latest_col:
        if latest.exists():
            st.image(latest.read_bytes(), caption=f"Latest samples (step {step:,})")
    with epochs_col:
        if len(epoch_grids) > 1:
            chosen = st.select_slider(
                "Samples after epoch",
                options=list(range(1, len(epoch_grids) + 1)),
                value=len(epoch_grids),
                key=f"epoch_{name}",
            )
            st.image(epoch_grids[chosen - 1].read_bytes())
        elif epoch_grids:
            st.image(epoch_grids[0].read_bytes(), caption="Samples after epoch 1")
        if len(epoch_grids) > 1:
            st.download_button(
                "Download the epochs as a GIF",
                dashboard.sample_history_gif(str(runs_dir), name, len(epoch_grids)),
                file_name=f"{name}-samples.gif",
                mime="image/gif",
                icon=":material/download:",
                key=f"gif_{name}",
            )
    st.caption(
        "Each grid draws the same 64 latent vectors, so digits can be followed as "
        "training goes on."
    )

    # A job that ends redraws the whole page, so the runs table and refresh update.
    was_live = st.session_state.get(f"live_{name}", False)
    st.session_state[f"live_{name}"] = state in LIVE_STATES
    if was_live and state not in LIVE_STATES:
        st.rerun(scope="app")


st.subheader("Runs")
summaries = list_runs(runs_dir)
if not summaries:
    st.info("No runs yet: pick a variant above and start one.", icon=":material/info:")
else:
    names = [summary.name for summary in summaries]
    alive = [job.run.name for job in manager.alive()]
    if st.session_state.get("selected_run") not in names:
        st.session_state["selected_run"] = alive[0] if alive else names[0]
    selected = st.selectbox("Run", names, key="selected_run")
    selected_summary = summaries[names.index(selected)]
    live = selected in alive or selected_summary.status == "running"
    st.fragment(show_run, run_every=REFRESH_S if live else None)(selected)

    with st.expander(f"All runs ({len(summaries)})", expanded=False):
        st.dataframe(
            [
                {
                    "run": s.name,
                    "variant": s.variant,
                    "status": s.status,
                    "step": f"{s.step:,} / {s.total_steps:,}",
                    "updated": s.updated,
                }
                for s in summaries
            ],
            hide_index=True,
        )
