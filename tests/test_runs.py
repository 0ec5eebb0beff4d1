import json

import numpy as np
import pytest

from dcgan.runs import CHECKPOINTS_KEPT, Run, RunError, list_runs, summarize

from .conftest import create_run


def row(step, epoch=1):
    return {"step": step, "epoch": epoch, "d_loss": 0.5, "g_loss": 1.0,
            "d_real_acc": 0.5, "d_fake_acc": 0.5, "elapsed_s": step / 10}  # fmt: skip


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "x" * 65, "sp ace"])
def test_run_names_must_be_plain(runs_dir, name):
    with pytest.raises(RunError, match="invalid run name"):
        Run(runs_dir, name)


def test_creating_a_run_twice_is_refused(runs_dir):
    create_run(runs_dir, "twice")
    with pytest.raises(RunError, match="already exists"):
        create_run(runs_dir, "twice")


def test_config_round_trips_and_is_stamped(runs_dir):
    run = create_run(runs_dir, "cfg")
    config = run.update_config(status="running", step=3)
    assert run.read_config() == config
    assert config["created"] and config["updated"]
    assert json.loads(run.config_path.read_text())["step"] == 3


def test_missing_run_is_named(runs_dir):
    with pytest.raises(RunError, match="no run named 'ghost'"):
        Run(runs_dir, "ghost").read_config()


def test_history_appends_and_drops_a_torn_last_line(runs_dir):
    run = create_run(runs_dir)
    run.append_history([row(1), row(2)])
    run.append_history([row(3)])
    with open(run.history_path, "a") as file:
        file.write("4,1,0.5")  # a write cut short
    history = run.read_history()
    np.testing.assert_array_equal(history["step"], [1, 2, 3])
    assert history["elapsed_s"][-1] == pytest.approx(0.3)


def test_history_read_between_appends_sees_every_row_once(runs_dir):
    run = create_run(runs_dir)
    run.append_history([row(1), row(2)])
    assert len(run.read_history()["step"]) == 2
    with open(run.history_path, "a") as file:
        file.write("3,1,0.5,1.0")  # a row half written when the page reads
    np.testing.assert_array_equal(run.read_history()["step"], [1, 2])
    with open(run.history_path, "a") as file:
        file.write(",0.5,0.5,0.3\n")  # ... and finished later
    run.append_history([row(4)])
    history = run.read_history()
    np.testing.assert_array_equal(history["step"], [1, 2, 3, 4])
    assert history["step"].dtype == np.int64


def test_history_rewritten_between_reads_is_read_afresh(runs_dir):
    run = create_run(runs_dir)
    run.append_history([row(step) for step in range(1, 6)])
    run.read_history()
    run.truncate_history(2)  # a resume from step 2
    run.append_history([row(3, epoch=7), row(4, epoch=7), row(5, epoch=7)])
    history = run.read_history()
    np.testing.assert_array_equal(history["step"], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(history["epoch"], [1, 1, 7, 7, 7])
    # Rewritten in place to the same length: the changed last row gives it away.
    text = run.history_path.read_text().replace("\n5,7,", "\n5,8,")
    with open(run.history_path, "r+") as file:
        file.write(text)
    assert run.read_history()["epoch"][-1] == 8
    run.history_path.unlink()
    assert len(run.read_history()["step"]) == 0


def test_truncating_history_keeps_rows_up_to_the_checkpoint(runs_dir):
    run = create_run(runs_dir)
    run.append_history([row(step) for step in range(1, 11)])
    run.truncate_history(6)
    np.testing.assert_array_equal(run.read_history()["step"], np.arange(1, 7))
    run.truncate_history(0)
    assert len(run.read_history()["step"]) == 0


def test_checkpoints_keep_only_the_last_few_and_leave_no_temporary_files(runs_dir):
    run = create_run(runs_dir)
    for step in (10, 20, 30, 40, 50):
        run.save_checkpoint(step, {"x": np.full(3, step)})
    assert [c.step for c in run.checkpoints()] == [50 - 10 * i for i in range(3)][::-1]
    assert len(run.checkpoints()) == CHECKPOINTS_KEPT
    assert sorted(p.name for p in run.checkpoints_dir.iterdir()) == [
        "step-00000030.npz", "step-00000040.npz", "step-00000050.npz"
    ]  # fmt: skip
    with np.load(run.latest_checkpoint().path) as arrays:
        np.testing.assert_array_equal(arrays["x"], [50, 50, 50])


def test_training_lock_is_exclusive_and_released(runs_dir):
    run = create_run(runs_dir)
    lock = run.try_lock()
    assert lock is not None
    assert run.try_lock() is None
    assert run.is_locked()
    lock.release()
    lock.release()  # safe twice
    assert not run.is_locked()


def test_a_running_run_that_nobody_holds_is_listed_as_interrupted(runs_dir):
    run = create_run(runs_dir, "crashed")
    run.update_config(status="running")
    assert summarize(run).status == "interrupted"
    lock = run.try_lock()
    assert summarize(run).status == "running"
    lock.release()


def test_list_runs_skips_folders_that_are_not_runs(runs_dir):
    create_run(runs_dir, "a")
    create_run(runs_dir, "b")
    (runs_dir / "stray").mkdir()
    (runs_dir / "broken").mkdir()
    (runs_dir / "broken" / "run.json").write_text("{not json")
    assert sorted(s.name for s in list_runs(runs_dir)) == ["a", "b"]
    assert list_runs(runs_dir / "absent") == []


def test_a_run_json_that_is_not_a_config_is_a_clear_error(runs_dir):
    run = create_run(runs_dir, "odd")
    run.config_path.write_text("[]")
    with pytest.raises(RunError, match="is not a run's config"):
        run.read_config()
    assert list_runs(runs_dir) == []


def test_damaged_history_rows_are_skipped(runs_dir):
    run = create_run(runs_dir)
    run.append_history([row(1)])
    with open(run.history_path, "a") as file:
        file.write("a,b,c,d,e,f,g\n")
    run.append_history([row(2)])
    np.testing.assert_array_equal(run.read_history()["step"], [1, 2])


def test_rows_with_numbers_that_cannot_be_steps_are_skipped(runs_dir):
    run = create_run(runs_dir)
    run.append_history([row(1), row(2)])
    with open(run.history_path, "a") as file:
        file.write("nan,1,0.5,0.5,0.5,0.5,3.0\n")  # no step at all
        file.write("3,1,inf,0.5,0.5,0.5,0.3\n")  # an impossible loss
        file.write("1,1,0.5,0.5,0.5,0.5,0.3\n")  # a step going backwards
    run.append_history([row(3)])
    history = run.read_history()
    np.testing.assert_array_equal(history["step"], [1, 2, 3])
    assert np.isfinite(history["d_loss"]).all()


def test_the_summary_shows_the_last_logged_step_between_checkpoints(runs_dir):
    run = create_run(runs_dir)
    run.update_config(step=2)
    run.append_history([row(step) for step in range(1, 8)])
    assert summarize(run).step == 7


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(runs_dir):
    run = create_run(runs_dir)
    run.save_checkpoint(10, {"x": np.full(2, 10)})
    newest = run.save_checkpoint(20, {"x": np.full(2, 20)})
    newest.write_bytes(b"half a file")
    checkpoint, arrays = run.newest_readable_checkpoint(set_aside_damaged=True)
    assert checkpoint.step == 10 and arrays["x"][0] == 10
    assert newest.with_suffix(".damaged").exists()
    assert run.latest_checkpoint().step == 10
    run.checkpoints()[0].path.write_bytes(b"")
    with pytest.raises(RunError, match="is damaged"):
        run.newest_readable_checkpoint()
