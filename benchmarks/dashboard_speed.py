"""The dashboard's costs: how fast the app starts, and what watching training costs.

App start: the time from launching `streamlit run` to the home page drawn in
headless Chromium (its "DCGAN Studio" heading visible), for a few starts in a
row; the browser is up before the clock starts.

Watching: one run, started from the Train page of a real server, trains while
the browser takes turns between the Train page (its live panel redrawing every
two seconds) and a blank page (no session: the same run, headless). Each turn
lasts `--seconds`; its first seconds, while a page loads or closes, are not
counted. The speeds come from the run's history.csv: steps over training seconds
within the counted part of each turn, summed over `--rounds` turns of each kind.
Turns that alternate keep a drift in the machine's speed from favouring either.

    python benchmarks/dashboard_speed.py --json

Needs Chromium (/usr/bin/chromium) and Playwright (requirements-dev.txt).
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dcgan.data import DataError, load_mnist
from dcgan.runs import Run
from dcgan.variants import VARIANTS

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_TIMEOUT_S = 60
POLL_S = 0.02


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(runs_dir: Path, log_path: Path):
    """`streamlit run` on loopback; (process, url) once it answers its health check."""
    port = free_port()
    env = {**os.environ, "DCGAN_RUNS_DIR": str(runs_dir)}
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env,
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                if reply.status == 200:
                    return process, url
        except OSError:
            time.sleep(POLL_S)
    stop_server(process)
    raise SystemExit(f"streamlit did not start; see {log_path}")


def stop_server(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def time_app_start(browser, folder: Path) -> dict:
    """Seconds from `streamlit run` to the server answering and to the home page."""
    page = browser.new_page()
    started = time.perf_counter()
    process, url = start_server(folder / "runs", folder / "start.log")
    healthy = time.perf_counter()
    try:
        page.goto(url)
        page.get_by_role("heading", name="DCGAN Studio").wait_for(timeout=30_000)
        drawn = time.perf_counter()
    finally:
        page.close()
        stop_server(process)
    return {"server_s": healthy - started, "home_page_s": drawn - started}


def position(run: Run) -> tuple[int, float]:
    """(last step, its elapsed training seconds) from the run's history.csv."""
    history = run.read_history()
    if not len(history["step"]):
        return 0, 0.0
    return int(history["step"][-1]), float(history["elapsed_s"][-1])


def wait_for_step(run: Run, step: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while position(run)[0] < step:
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run.name} did not reach step {step}")
        time.sleep(0.2)


def time_watching(browser, folder: Path, variant, args) -> dict:
    """Steps/s of one run with the Train page open and with no page open."""
    runs_dir = folder / "runs"
    process, url = start_server(runs_dir, folder / "watched.log")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    running = f"watched · {variant.title} · running"
    try:
        page.goto(f"{url}/train")
        page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
        page.get_by_label("Variant").click()
        page.get_by_role("option", name=variant.title).click()
        page.get_by_text("More settings").click()
        page.get_by_label("Run name").fill("watched")
        page.get_by_role("button", name="Start training").click()
        page.get_by_text(running).wait_for(timeout=120_000)
        run = Run(runs_dir, "watched")
        wait_for_step(run, args.warmup)

        totals = {"watched": [0, 0.0], "headless": [0, 0.0]}
        for _ in range(args.rounds):
            for kind in ("headless", "watched"):
                if kind == "watched":
                    page.goto(f"{url}/train")
                    page.get_by_text(running).wait_for(timeout=60_000)
                else:
                    page.goto("about:blank")
                time.sleep(args.settle)
                step, elapsed = position(run)
                time.sleep(args.seconds - args.settle)
                end_step, end_elapsed = position(run)
                totals[kind][0] += end_step - step
                totals[kind][1] += end_elapsed - elapsed
        precision = run.read_config()["precision"]
    finally:
        page.close()
        stop_server(process)
    speeds = {kind: steps / seconds for kind, (steps, seconds) in totals.items()}
    return {**speeds, "precision": precision, "steps": totals}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=list(VARIANTS), default="dcgan-2")
    parser.add_argument("--rounds", type=int, default=4, help="turns of each kind")
    parser.add_argument("--seconds", type=float, default=20.0, help="one turn")
    parser.add_argument("--settle", type=float, default=4.0, help="uncounted")
    parser.add_argument("--warmup", type=int, default=20, help="steps before turns")
    parser.add_argument("--starts", type=int, default=3, help="app starts to time")
    parser.add_argument("--data", help="mnist.npz or IDX folder (default sources)")
    parser.add_argument("--json", action="store_true", help="end with a JSON line")
    args = parser.parse_args(argv)
    if args.data:  # the server reads it
        os.environ["DCGAN_MNIST"] = str(Path(args.data).resolve())
    if min(args.rounds, args.warmup, args.starts) < 1 or not (
        0 <= args.settle < args.seconds
    ):
        parser.error(
            "--rounds, --warmup and --starts must be at least 1, and --settle "
            "at least 0 and shorter than --seconds"
        )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        parser.error("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    try:
        load_mnist()  # what the server will read, checked before it starts
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    variant = VARIANTS[args.variant]
    with (
        tempfile.TemporaryDirectory() as folder,
        sync_playwright() as playwright,
    ):
        folder = Path(folder)
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        starts = [time_app_start(browser, folder) for _ in range(args.starts)]
        watching = time_watching(browser, folder, variant, args)
        browser.close()

    home = [start["home_page_s"] for start in starts]
    result = {
        "variant": variant.name,
        "precision": watching["precision"],
        "rounds": args.rounds,
        "seconds": args.seconds,
        "headless_steps_per_s": round(watching["headless"], 3),
        "watched_steps_per_s": round(watching["watched"], 3),
        "watched_share": round(watching["watched"] / watching["headless"], 3),
        "server_start_s": [round(start["server_s"], 2) for start in starts],
        "home_page_s": [round(s, 2) for s in home],
        "home_page_median_s": round(statistics.median(home), 2),
        "cores": os.cpu_count(),
    }
    print(f"app start, {args.starts} starts in a row (streamlit run -> home page):")
    for start in starts:
        print(
            f"  server answers {start['server_s']:.2f} s, "
            f"home page drawn {start['home_page_s']:.2f} s"
        )
    counted = args.rounds * (args.seconds - args.settle)
    print(
        f"{variant.title} ({result['precision']}), one run in the app, "
        f"{counted:.0f} s counted of each:"
    )
    print(f"  no page open (headless): {result['headless_steps_per_s']:.2f} steps/s")
    print(f"  Train page open:         {result['watched_steps_per_s']:.2f} steps/s")
    print(f"  with the page open: {result['watched_share']:.1%} of headless speed")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
