"""Every page under Streamlit's AppTest, with real runs trained on real MNIST."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dcgan.training import GanTrainer

from .conftest import create_run

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")
TIMEOUT_S = 120


@pytest.fixture
def app_env(monkeypatch, runs_dir, mnist_slice_path):
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(runs_dir))
    monkeypatch.setenv("DCGAN_MNIST", str(mnist_slice_path))
    return runs_dir


@pytest.fixture
def trained_run(app_env, mnist_slice):
    run = create_run(app_env, "trained", batch_size=256, epochs=2)
    GanTrainer(run, mnist_slice).fit()
    return run


def open_page(path: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    if path:
        app.switch_page(path).run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> str:
    parts = [element.value for element in app.markdown]
    parts += [element.value for element in app.caption]
    parts += [element.value for element in app.info]
    return "\n".join(str(part) for part in parts)


def test_home_shows_the_four_variants(app_env):
    app = open_page()
    assert app.title[0].value == "DCGAN Studio"
    for title in ("DCGAN-1", "DCGAN-2", "DCGAN-3", "DCGAN-4"):
        assert f"**{title}**" in texts(app)
    assert "856,193" in texts(app)


def test_train_page_with_no_runs_says_where_to_start(app_env):
    app = open_page("app_pages/train.py")
    assert "No runs yet" in texts(app)
    assert app.selectbox[0].options == ["DCGAN-1", "DCGAN-2", "DCGAN-3", "DCGAN-4"]


def test_train_page_shows_a_finished_run_with_curves_and_samples(trained_run):
    app = open_page("app_pages/train.py")
    assert "trained · DCGAN-2 · finished" in texts(app)
    assert len(app.get("plotly_chart")) == 2
    assert any(b.label == "Resume training" for b in app.button)
    assert "Samples after epoch" in [s.label for s in app.select_slider]


def test_train_page_starts_a_run_that_trains_in_the_background(app_env):
    from dashboard import manager

    app = open_page("app_pages/train.py")
    app.selectbox[0].select("dcgan-3")
    steps = next(n for n in app.number_input if n.label.startswith("Stop after"))
    steps.set_value(3)
    app.text_input[0].input("from-the-page")
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception, app.exception
    assert not app.error

    job = manager().get("from-the-page")
    assert job is not None and job.join(TIMEOUT_S)
    assert job.status.state == "finished" and job.status.step == 3
    assert job.run.read_config()["variant"]["name"] == "dcgan-3"

    app.run()
    assert "from-the-page · DCGAN-3 · finished" in texts(app)


def test_starting_a_run_under_a_taken_name_is_one_clear_error(trained_run):
    app = open_page("app_pages/train.py")
    app.text_input[0].input("trained")
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        "run 'trained' already exists; resume it instead"
    ]


PRETRAINED = [f"pretrained:dcgan-{k}" for k in range(1, 5)]


def test_latent_page_starts_with_the_four_pretrained_generators(app_env):
    app = open_page("app_pages/latent.py")
    assert app.multiselect[0].value == PRETRAINED
    assert len(app.get("image")) == 4
    assert [b.label for b in app.get("download_button")] == [
        "Download the walk as a GIF"
    ]


def test_latent_page_draws_the_users_runs_beside_pretrained_ones(
    trained_run, mnist_slice
):
    second = create_run(trained_run.runs_dir, "second", variant="dcgan-1", max_steps=2)
    GanTrainer(second, mnist_slice).fit()
    app = open_page("app_pages/latent.py")
    assert {"second", "trained"} <= set(app.multiselect[0].options)
    app.multiselect[0].set_value(["pretrained:dcgan-2", "second", "trained"]).run()
    app.slider[0].set_value(5).run()
    app.radio[0].set_value("lerp").run()
    assert not app.exception
    assert len(app.get("image")) == 3
    app.multiselect[0].set_value([]).run()
    assert "Pick at least one generator." in texts(app)


def test_compare_page_measures_the_four_variants_without_training(app_env):
    app = open_page("app_pages/compare.py")
    table = app.dataframe[0].value
    assert list(table["variant"]) == ["DCGAN-1", "DCGAN-2", "DCGAN-3", "DCGAN-4"]
    for column in ("recognisable digits", "Fréchet distance", "mean confidence"):
        assert table[column].notna().all()
    assert "Did tanh to sigmoid matter?" in texts(app)
    assert len(app.get("image")) == 4


def test_compare_page_includes_a_finished_run(trained_run):
    app = open_page("app_pages/compare.py")
    assert "trained" in list(app.dataframe[0].value["generator"])


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_engine_imports_no_streamlit_and_the_pages_no_tensorflow():
    for path in (REPO / "dcgan").glob("*.py"):
        assert "streamlit" not in imported_modules(path), path.name
    ui = [
        REPO / "streamlit_app.py",
        REPO / "dashboard.py",
        *(REPO / "app_pages").glob("*.py"),
    ]
    for path in ui:
        assert not {"tensorflow", "keras"} & imported_modules(path), path.name


def test_the_home_page_renders_without_loading_tensorflow(app_env):
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({APP!r}, default_timeout=60).run()\n"
        "assert not app.exception, app.exception\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False,
        timeout=TIMEOUT_S, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_train_page_shows_quality_after_each_epoch_and_health_warnings(
    app_env, mnist_slice
):
    from dcgan.evaluation import EpochQuality

    run = create_run(app_env, "measured", batch_size=256, epochs=2)
    GanTrainer(run, mnist_slice, callbacks=[EpochQuality(samples=200)]).fit()
    metrics = run.read_metrics()
    assert list(metrics["epoch"]) == [1, 2]
    assert (
        (metrics["recognisable_digits"] >= 0) & (metrics["recognisable_digits"] <= 10)
    ).all()

    # A discriminator that wins for 300 steps, written as a run would log it.
    rows = [
        {"step": step, "epoch": 3, "d_loss": 0.01, "g_loss": 6.0, "d_real_acc": 1.0,
         "d_fake_acc": 1.0, "elapsed_s": float(step)}
        for step in range(9, 309)
    ]  # fmt: skip
    run.append_history(rows)
    app = open_page("app_pages/train.py")
    assert len(app.get("plotly_chart")) == 3  # losses, accuracy, quality
    assert any("discriminator is winning" in w.value for w in app.warning)


def test_the_end_of_a_script_run_leaves_keras_state_of_training_jobs_alone():
    # Streamlit clears Keras' session after every script run, live refreshes
    # included; in this app that would reset the state training threads share.
    from keras.src.backend.common import global_state
    from streamlit.runtime.scriptrunner import script_runner

    import dashboard  # noqa: F401 (installs the guard once TensorFlow is loaded)
    from dcgan import backend

    backend.keras()
    global_state.set_global_attribute("probe", "kept")
    script_runner._clean_problem_modules()
    assert global_state.get_global_attribute("probe") == "kept"


def test_the_epoch_slider_follows_new_epochs_until_moved_back(app_env, mnist_slice):
    run = create_run(app_env, "epochs", batch_size=256, epochs=2)
    GanTrainer(run, mnist_slice).fit()
    app = open_page("app_pages/train.py")
    (slider,) = app.select_slider
    assert slider.value == 2

    grid = run.sample_path(2).read_bytes()
    run.sample_path(3).write_bytes(grid)  # as the next epoch would
    app.run()
    assert app.select_slider[0].value == 3  # still on the newest

    app.select_slider[0].set_value(1).run()
    run.sample_path(4).write_bytes(grid)
    app.run()
    assert app.select_slider[0].value == 1  # the user's choice stays
    assert not app.exception
