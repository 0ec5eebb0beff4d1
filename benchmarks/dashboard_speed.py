"""The dashboard's costs: how fast the app starts, and what watching training costs.

App start: the time from launching `streamlit run` to the home page drawn in
headless Chromium (its "DCGAN Studio" heading visible), for a few starts in a
row; the browser is up before the clock starts.

Watching: the same training configuration three times, each a fresh run of
`--steps` timed steps after `--warmup` untimed ones: first with the command line
(headless), then started from the Train page of a real server with the page left
open (its live panel redraws every two seconds), then headless again. Speeds come
from each run's history.csv; the headless speed is the mean of the two headless
runs, so a drift in the machine's speed weighs on both sides alike.

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


def speed(run: Run, warmup: int, steps: int) -> float:
    """Steps/s of a run over steps warmup+1 .. warmup+steps, from its history."""
    elapsed = run.read_history()["elapsed_s"]
    return steps / (elapsed[warmup + steps - 1] - elapsed[warmup - 1])


def train_headless(runs_dir: Path, name: str, variant: str, total: int) -> Run:
    subprocess.run(
        [sys.executable, "-m", "dcgan", "train", "--variant", variant, "--run", name,
         "--max-steps", str(total), "--runs-dir", str(runs_dir)],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return Run(runs_dir, name)


def train_watched(browser, runs_dir: Path, name: str, variant, total: int) -> Run:
    """Start a run from the Train page and keep the page open until it finishes."""
    process, url = start_server(runs_dir, runs_dir.parent / "watched.log")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{url}/train")
        page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
        page.get_by_label("Variant").click()
        page.get_by_role("option", name=variant.title).click()
        page.get_by_text("More settings").click()
        page.get_by_label("Run name").fill(name)
        steps = page.get_by_label("Stop after step (0 trains every epoch)")
        steps.fill(str(total))
        steps.press("Enter")
        page.get_by_role("button", name="Start training").click()
        page.get_by_text(f"{name} · {variant.title} · running").wait_for(
            timeout=120_000
        )
        page.get_by_text(f"{name} · {variant.title} · finished").wait_for(
            timeout=3_600_000
        )
    finally:
        page.close()
        stop_server(process)
    return Run(runs_dir, name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=list(VARIANTS), default="dcgan-2")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    parser.add_argument("--starts", type=int, default=3, help="app starts to time")
    parser.add_argument("--data", help="mnist.npz or IDX folder (default sources)")
    parser.add_argument("--json", action="store_true", help="end with a JSON line")
    args = parser.parse_args(argv)
    if args.data:  # the server and the command line both read it
        os.environ["DCGAN_MNIST"] = str(Path(args.data).resolve())
    if args.steps < 2 or args.warmup < 1 or args.starts < 1:
        parser.error("--steps must be at least 2, --warmup and --starts at least 1")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        parser.error("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    variant = VARIANTS[args.variant]
    total = args.warmup + args.steps
    with (
        tempfile.TemporaryDirectory() as folder,
        sync_playwright() as playwright,
    ):
        folder = Path(folder)
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        starts = [time_app_start(browser, folder) for _ in range(args.starts)]

        runs_dir = folder / "runs"
        first = train_headless(runs_dir, "headless-1", variant.name, total)
        watched = train_watched(browser, runs_dir, "watched", variant, total)
        second = train_headless(runs_dir, "headless-2", variant.name, total)
        browser.close()
        headless_speeds = [
            speed(run, args.warmup, args.steps) for run in (first, second)
        ]
        watched_speed = speed(watched, args.warmup, args.steps)
        precision = watched.read_config()["precision"]

    headless_speed = statistics.mean(headless_speeds)
    home = [start["home_page_s"] for start in starts]
    result = {
        "variant": variant.name,
        "steps": args.steps,
        "warmup": args.warmup,
        "precision": precision,
        "headless_steps_per_s": [round(s, 3) for s in headless_speeds],
        "watched_steps_per_s": round(watched_speed, 3),
        "watched_share": round(watched_speed / headless_speed, 3),
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
    print(
        f"{variant.title} ({precision}), steps/s over {args.steps} steps after "
        f"{args.warmup}:"
    )
    print(f"  headless (command line), before: {headless_speeds[0]:.2f}")
    print(f"  Train page open:                 {watched_speed:.2f}")
    print(f"  headless (command line), after:  {headless_speeds[1]:.2f}")
    print(f"  with the page open: {result['watched_share']:.1%} of headless speed")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
