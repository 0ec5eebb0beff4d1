"""A real browser against a real server: headless Chromium and `streamlit run`.

Skipped, with the reason, where Chromium or Playwright is missing; CI installs both.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dcgan.runs import Run, list_runs

from .conftest import assert_continuous

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SERVER_START_TIMEOUT_S = 60
# Flags for a closed network and a root user: no sandbox, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(tmp_path, mnist_slice_path):
    """`streamlit run streamlit_app.py` on loopback; returns (process, url, log)."""
    port = free_port()
    env = {
        **os.environ,
        "DCGAN_RUNS_DIR": str(tmp_path / "runs"),
        "DCGAN_MNIST": str(mnist_slice_path),
    }
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(
                "streamlit did not start:\n" + (tmp_path / "server.log").read_text()
            )
        time.sleep(0.2)
    return process, url, log


@pytest.fixture
def server(tmp_path, mnist_slice_path):
    """A server with an empty runs folder, stopped after the test."""
    process, url, log = start_server(tmp_path, mnist_slice_path)
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def test_start_a_short_run_and_see_the_loss_chart(server, page, tmp_path):
    page.goto(server)
    page.get_by_role("heading", name="DCGAN Studio").wait_for(timeout=30_000)
    page.get_by_text("DCGAN-4").first.wait_for()

    page.goto(f"{server}/train")
    page.get_by_text("More settings").click()
    steps = page.get_by_label("Stop after step (0 trains every epoch)")
    steps.fill("6")
    steps.press("Enter")
    page.get_by_role("button", name="Start training").click()

    # The live panel redraws until the loss figure is there, then the run ends.
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    page.get_by_text("Losses").first.wait_for()
    page.get_by_text("finished").first.wait_for(timeout=120_000)
    page.screenshot(path=str(tmp_path / "train.png"), full_page=True)
    runs = list_runs(tmp_path / "runs")
    assert [(run.status, run.step) for run in runs] == [("finished", 6)]
    assert_continuous(Run(tmp_path / "runs", runs[0].name).read_history(), 6)


def test_shutting_the_server_down_checkpoints_the_running_job(
    tmp_path, mnist_slice_path, page
):
    process, url, log = start_server(tmp_path, mnist_slice_path)
    try:
        page.goto(f"{url}/train")
        page.get_by_role("button", name="Start training").click()
        page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    finally:
        process.terminate()  # SIGTERM, as a service manager or Ctrl-C would
        process.wait(timeout=60)
        log.close()

    (summary,) = list_runs(tmp_path / "runs")
    run = Run(tmp_path / "runs", summary.name)
    assert summary.status == "stopped"
    history = run.read_history()
    assert len(history["step"]) > 0
    assert run.latest_checkpoint().step == history["step"][-1]
    assert_continuous(history, int(history["step"][-1]))


def test_a_page_opened_first_by_its_address_has_the_apps_navigation(server, page):
    # A fresh server asked for /latent before any other page still runs the app's
    # own navigation (wide layout, four named pages), not a bare page script.
    page.goto(f"{server}/latent")
    page.get_by_role("heading", name="Latent space").wait_for(timeout=60_000)
    navigation = page.get_by_test_id("stSidebarNav")
    for label in ("Home", "Train", "Latent space", "Compare"):
        navigation.get_by_text(label, exact=True).wait_for(timeout=10_000)
    assert navigation.get_by_text("streamlit app").count() == 0
