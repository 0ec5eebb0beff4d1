import threading
import time

import pytest

from dcgan.jobs import JobError, JobManager
from dcgan.runs import Run, RunError
from dcgan.variants import get_variant

from .conftest import assert_continuous

JOIN_TIMEOUT_S = 120


def wait_for(predicate, timeout_s=60.0, poll_s=0.05):
    """Poll `predicate` until true; False if it never was within the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return False


@pytest.fixture
def manager(runs_dir):
    manager = JobManager(runs_dir, max_jobs=1)
    yield manager
    manager.stop_all(timeout=JOIN_TIMEOUT_S)


def test_a_job_trains_in_the_background_to_its_end(manager, mnist_slice_path):
    job = manager.start(
        "bg", get_variant("dcgan-2"), max_steps=5, seed=3, data_path=mnist_slice_path
    )
    assert job.join(JOIN_TIMEOUT_S)
    status = job.status
    assert (status.state, status.step, status.total_steps) == ("finished", 5, 5)
    assert status.progress == 1.0 and not status.alive
    assert_continuous(job.run.read_history(), 5)


def test_two_threads_starting_one_run_get_one_job(manager, mnist_slice_path):
    barrier = threading.Barrier(2)
    outcomes = []

    def start():
        barrier.wait()
        try:
            outcomes.append(
                manager.start(
                    "same",
                    get_variant("dcgan-2"),
                    max_steps=3,
                    data_path=mnist_slice_path,
                )
            )
        except (JobError, RunError) as error:
            outcomes.append(error)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    jobs = [o for o in outcomes if not isinstance(o, Exception)]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(jobs) == 1 and len(errors) == 1
    assert "already" in str(errors[0])
    assert jobs[0].join(JOIN_TIMEOUT_S)


def test_resume_is_refused_while_the_run_trains(manager, mnist_slice_path):
    job = manager.start(
        "busy", get_variant("dcgan-2"), max_steps=200, data_path=mnist_slice_path,
        epochs=100,
    )  # fmt: skip
    assert wait_for(lambda: job.status.step >= 1)
    with pytest.raises(JobError, match="already training"):
        manager.resume("busy", max_steps=300)
    # and so is a second trainer in another manager (as in another process)
    with pytest.raises(JobError, match="another process"):
        JobManager(manager.runs_dir, max_jobs=5).resume("busy", max_steps=300)
    job.stop()
    assert job.join(JOIN_TIMEOUT_S)


def test_pause_resume_and_stop_take_effect_within_a_step(manager, mnist_slice_path):
    job = manager.start(
        "ctl", get_variant("dcgan-2"), epochs=100, data_path=mnist_slice_path
    )
    assert wait_for(lambda: job.status.step >= 2)

    job.pause()
    assert wait_for(lambda: job.status.state == "paused")
    held = job.status.step
    time.sleep(0.5)  # nothing may train while paused
    assert job.status.step == held

    job.resume()
    assert wait_for(lambda: job.status.step > held)

    job.stop()
    assert job.join(JOIN_TIMEOUT_S)
    run = Run(manager.runs_dir, "ctl")
    assert job.status.state == "stopped"
    assert run.read_config()["status"] == "stopped"
    assert run.latest_checkpoint().step == job.status.step
    assert run.generator_path.exists()
    assert_continuous(run.read_history(), job.status.step)


def test_stop_then_resume_continues_the_history(manager, mnist_slice_path):
    job = manager.start(
        "again", get_variant("dcgan-2"), epochs=3, data_path=mnist_slice_path
    )
    assert wait_for(lambda: job.status.step >= 3)
    job.stop()
    assert job.join(JOIN_TIMEOUT_S)
    stopped_at = job.status.step

    resumed = manager.resume("again", max_steps=stopped_at + 4)
    assert resumed.join(JOIN_TIMEOUT_S)
    assert resumed.status.state == "finished"
    assert_continuous(resumed.run.read_history(), stopped_at + 4)


def test_jobs_beyond_the_limit_are_refused_with_a_reason(manager, mnist_slice_path):
    first = manager.start(
        "one", get_variant("dcgan-2"), epochs=100, data_path=mnist_slice_path
    )
    with pytest.raises(JobError, match="allows 1 job"):
        manager.start("two", get_variant("dcgan-2"), data_path=mnist_slice_path)
    assert not Run(manager.runs_dir, "two").exists()
    first.stop()
    assert first.join(JOIN_TIMEOUT_S)


def test_a_failed_job_keeps_its_error(manager, mnist_slice_path):
    job = manager.start(
        "fails", get_variant("dcgan-2"), max_steps=2, data_path=mnist_slice_path
    )
    assert job.join(JOIN_TIMEOUT_S)
    # A checkpoint damaged beyond reading, and no older one to fall back on.
    run = job.run
    checkpoint = run.latest_checkpoint().path
    checkpoint.write_bytes(b"garbage")
    job = manager.resume("fails", max_steps=4)
    assert job.join(JOIN_TIMEOUT_S)
    assert job.status.state == "failed"
    assert job.status.error
    config = run.read_config()
    assert config["status"] == "failed" and config["error"] == job.status.error
    assert not run.is_locked()
    # Nothing is lost: the damaged checkpoint and the history stay for a look.
    assert checkpoint.exists()
    assert_continuous(run.read_history(), 2)


def test_bad_numbers_are_refused_before_anything_is_written(manager, mnist_slice_path):
    with pytest.raises(JobError, match="seed"):
        manager.start("neg", get_variant("dcgan-1"), seed=-1)
    with pytest.raises(JobError, match="epochs"):
        manager.start("zero", get_variant("dcgan-1"), epochs=10**9)
    with pytest.raises(JobError, match="precision 'half' is not one of auto"):
        manager.start("half", get_variant("dcgan-1"), precision="half")
    assert not manager.runs_dir.exists()


def test_resuming_a_run_with_a_bad_precision_is_refused_and_changes_nothing(
    manager, mnist_slice_path
):
    job = manager.start(
        "prec", get_variant("dcgan-2"), max_steps=2, data_path=mnist_slice_path
    )
    assert job.join(JOIN_TIMEOUT_S)
    job.run.update_config(precision="fp8")
    before = job.run.config_path.read_bytes()
    with pytest.raises(JobError, match="precision 'fp8' in run.json; set it to one"):
        manager.resume("prec", max_steps=4)
    assert job.run.config_path.read_bytes() == before


def test_resume_with_max_steps_0_lifts_the_step_limit(manager, mnist_slice_path):
    job = manager.start(
        "capped", get_variant("dcgan-2"), epochs=2, max_steps=3,
        data_path=mnist_slice_path,
    )  # fmt: skip
    assert job.join(JOIN_TIMEOUT_S) and job.status.step == 3
    resumed = manager.resume("capped", max_steps=0)
    assert resumed.join(JOIN_TIMEOUT_S)
    # two epochs of the 1,024-image slice at batch 128
    assert resumed.status.step == 16
    assert resumed.run.read_config()["max_steps"] is None


def test_a_bad_max_jobs_setting_is_one_clear_error(monkeypatch, runs_dir):
    monkeypatch.setenv("DCGAN_MAX_JOBS", "abc")
    with pytest.raises(JobError, match="DCGAN_MAX_JOBS must be a whole number"):
        JobManager(runs_dir)
