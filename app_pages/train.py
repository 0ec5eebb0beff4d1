"""Train: start a run, watch it learn live, pause, resume, stop."""

import time

import streamlit as st

import dashboard
from dcgan import health, plots
from dcgan.data import DataError
from dcgan.evaluation import EPOCH_SAMPLES, RECOGNISABLE_RULE
from dcgan.jobs import MAX_EPOCHS, MAX_SEED, MAX_STEPS, JobError
from dcgan.models import (
    PRECISIONS,
    describe,
    discriminator_plan,
    generator_plan,
    parameter_count,
)
from dcgan.runs import Run, RunError, list_runs, recent_speed, summarize
from dcgan.training import PRECISION_CHOICES
from dcgan.variants import VARIANTS, VariantError

REFRESH_S = 2.0  # how often a live run's progress and controls redraw
# Curves and samples redraw less often: drawing them takes CPU from training, and
# the trainer redraws its latest samples only every few seconds anyway.
CHARTS_REFRESH_S = 10.0
GRID_WIDTH = 400  # pixels for a 242-pixel sample grid: digits big enough to read
LIVE_STATES = ("starting", "running", "paused", "stopping")
USER_ERRORS = (JobError, RunError, DataError, VariantError, OSError)

manager = dashboard.manager()
runs_dir = dashboard.runs_dir()

st.title("Train")

# -- a new run -----------------------------------------------------------------

FULL_MNIST_TRAIN = 60_000  # for the steps estimate; a custom data set may differ


def start_run() -> None:
    """Start the run the form describes; runs before the page redraws."""
    state = st.session_state
    variant = VARIANTS[state.new_variant]
    name = state.new_run_name.strip() or (
        f"{variant.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    try:
        manager.start(
            name,
            variant,
            epochs=int(state.new_epochs),
            max_steps=int(state.new_max_steps) or None,
            seed=int(state.new_seed),
            precision=state.new_precision,
        )
    except USER_ERRORS as error:
        state.start_error = str(error)
    else:
        state.start_error = None
        state.selected_run = name
        state.new_run_name = ""
        st.toast(f"Training {variant.title} as {name}")


with st.container(border=True):
    st.subheader("New run")
    settings, architecture = st.columns([2, 3])
    with settings:
        variant_name = st.selectbox(
            "Variant",
            list(VARIANTS),
            format_func=lambda name: VARIANTS[name].title,
            key="new_variant",
        )
        variant = VARIANTS[variant_name]
        st.caption(variant.description)
        epochs = st.number_input(
            "Epochs", 1, MAX_EPOCHS, variant.epochs, key="new_epochs"
        )
        per_epoch = FULL_MNIST_TRAIN // variant.batch_size
        st.caption(
            f"{epochs} epochs of MNIST's 60,000 digits are {epochs * per_epoch:,} "
            f"steps of {variant.batch_size} digits."
        )
        st.number_input("Seed", 0, MAX_SEED, 0, key="new_seed")
        with st.expander("More settings"):
            st.text_input(
                "Run name",
                placeholder="variant-date-time when empty",
                key="new_run_name",
            )
            st.number_input(
                "Stop after step (0 trains every epoch)",
                0,
                MAX_STEPS,
                0,
                key="new_max_steps",
            )
            st.selectbox(
                "Precision",
                PRECISION_CHOICES,
                key="new_precision",
                help=(
                    "bfloat16 computes with half-width numbers and float32 weights: "
                    "faster on CPUs with bfloat16 instructions. auto picks it where "
                    "it is fast; the run records what it used."
                ),
            )
        st.button(
            "Start training",
            type="primary",
            icon=":material/play_arrow:",
            on_click=start_run,
        )
        if st.session_state.get("start_error"):
            st.error(st.session_state.start_error, icon=":material/error:")
    with architecture:
        g_params = parameter_count(generator_plan(variant))
        d_params = parameter_count(discriminator_plan(variant))
        left, right = st.columns(2)
        left.metric("Generator parameters", f"{g_params:,}")
        right.metric("Discriminator parameters", f"{d_params:,}")
        with st.expander("Layers and output shapes"):
            st.dataframe(describe(variant), hide_index=True)


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
        epochs_col, steps_col, button_col = st.columns(
            [1, 1, 1], vertical_alignment="bottom"
        )
        total_epochs = epochs_col.number_input(
            "Train to epoch",
            1,
            MAX_EPOCHS,
            int(config.get("epochs", 1)),
            key=f"resume_epochs_{run.name}",
        )
        stop_step = steps_col.number_input(
            "Stop at step (0: no limit)",
            0,
            MAX_STEPS,
            int(config.get("max_steps") or 0),
            key=f"resume_steps_{run.name}",
        )
        if button_col.button("Resume training", icon=":material/replay:"):
            try:
                manager.resume(
                    run.name, epochs=int(total_epochs), max_steps=int(stop_step)
                )
            except USER_ERRORS as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.rerun()


def run_status(name: str) -> None:
    """Header, progress with speed and ETA, and the controls of run `name`."""
    run = Run(runs_dir, name)
    try:
        summary = summarize(run)
        config = run.read_config()
    except RunError as error:
        st.error(str(error))
        return
    job = manager.get(name)
    if job and job.alive:  # trained here: its status is in memory, no file read
        status = job.status
        state, step, speed = status.state, status.step, status.steps_per_s
    else:
        state, step = summary.status, summary.step
        speed = recent_speed(run.read_history()) if state == "running" else None
    if state != "running":
        speed = None
    total = int(config.get("total_steps") or 0)

    icon = dashboard.STATUS_ICONS.get(state, "")
    st.markdown(f"#### {icon} {name} · {summary.variant} · {state}")
    if state == "failed":
        st.error(f"Training failed: {config.get('error')}", icon=":material/error:")
    if state == "interrupted":
        checkpoint = run.latest_checkpoint()
        resume_from = f"step {checkpoint.step:,}" if checkpoint else "the start"
        st.warning(
            "This run stopped without saying so (the app or machine was shut down). "
            f"It resumes from its last checkpoint, at {resume_from}; steps logged "
            "after that are trained again.",
            icon=":material/warning:",
        )

    eta = (total - step) / speed if speed else None
    per_epoch = config.get("steps_per_epoch") or 0
    epoch = (step - 1) // per_epoch + 1 if per_epoch and step else 0
    if state == "starting" or not total:
        progress_text = "Starting: loading MNIST and building the networks ..."
    else:
        progress_text = f"step {step:,} of {total:,} · epoch {epoch}"
        if total < int(config.get("epochs", 0)) * per_epoch:
            progress_text += f" (stops at step {total:,})"
        else:
            progress_text += f" of {config.get('epochs')}"
        progress_text += (
            f" · {speed or 0:.2f} steps/s · ETA {dashboard.format_duration(eta)}"
        )
        if config.get("precision") in PRECISIONS:
            progress_text += f" · {config['precision']}"
    st.progress(min(1.0, step / total) if total else 0.0, text=progress_text)
    run_controls(run, state, config)

    # A job that ends redraws the whole page, so the runs table and refresh update.
    was_live = st.session_state.get(f"live_{name}", False)
    st.session_state[f"live_{name}"] = state in LIVE_STATES
    if was_live and state not in LIVE_STATES:
        st.rerun(scope="app")


def wait_for_training(name: str) -> None:
    """Redraw the page once run `name`, at rest when drawn, starts training.

    Draws nothing: it catches a run that the command line (or another tab)
    starts or resumes while this page shows it.
    """
    job = manager.get(name)
    try:
        state = summarize(Run(runs_dir, name)).status
    except RunError:
        return
    if (job and job.alive) or state == "running":
        st.rerun(scope="app")


def run_charts(name: str) -> None:
    """Warnings, curves, quality measures and sample grids of run `name`."""
    run = Run(runs_dir, name)
    history = run.read_history()
    step = int(history["step"][-1]) if len(history["step"]) else 0
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
            st.image(
                latest.read_bytes(),
                caption=f"Latest samples (step {step:,})",
                width=GRID_WIDTH,
            )
    with epochs_col:
        if len(epoch_grids) > 1:
            # The slider follows new epochs unless moved back to an earlier one.
            key, newest_key = f"epoch_{name}", f"epoch_newest_{name}"
            state = st.session_state
            following = state.get(key) in (None, state.get(newest_key))
            if following or state[key] > len(epoch_grids):
                state[key] = len(epoch_grids)
            state[newest_key] = len(epoch_grids)
            chosen = st.select_slider(
                "Samples after epoch",
                options=list(range(1, len(epoch_grids) + 1)),
                key=key,
            )
            st.image(epoch_grids[chosen - 1].read_bytes(), width=GRID_WIDTH)
        elif epoch_grids:
            st.image(
                epoch_grids[0].read_bytes(),
                caption="Samples after epoch 1",
                width=GRID_WIDTH,
            )
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
    st.fragment(run_status, run_every=REFRESH_S if live else None)(selected)
    st.fragment(run_charts, run_every=CHARTS_REFRESH_S if live else None)(selected)
    if not live:
        st.fragment(wait_for_training, run_every=REFRESH_S)(selected)

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
