"""Never lose work: train.py under SIGTERM and Ctrl-C, SIGKILL, a corrupt checkpoint and a
second run on the same directory. (A full disk: tests/test_training.py.)

Each case runs train.py as a user would, in a subprocess, with nothing patched. The test
waits for what the run writes (a checkpoint renamed into place, the work directory's lock
file) and acts then: never for a time. A run asked for a checkpoint after every step
(--config.checkpoint_every_steps=1) marks each step with a file.
"""

import os
import re
import signal
import subprocess
import sys

import pytest

from helpers import REPO, history_epochs, run_script, wait_for, weights_digest

pytestmark = pytest.mark.slow

# Deterministic kernels, so that an interrupted run can be compared weight for weight.
ENVIRONMENT = dict(os.environ, TF_DETERMINISTIC_OPS="1")
# With the EMA of the weights on, final.keras holds the averages of every step's weights, with
# batch-norm statistics measured for them: equal averages mean that the trained weights were
# equal at every step too, and that the averages were resumed.
EMA = ["--config.ema=True", "--config.ema_momentum=0.9"]
EVERY_STEP = ["--config.checkpoint_every_steps=1"]


def flags(image_folder, workdir, epochs=3):
    return ["--dataset", f"folder:{image_folder}", "--alpha", "0.25", "--resolution", "32", "--epochs", str(epochs),
            "--batch_size", "2", "--workdir", str(workdir), "--config.warmup_epochs=0", "--config.eval_batch_size=8"]


def start(arguments):
    return subprocess.Popen([sys.executable, "train.py", *arguments], cwd=REPO, env=ENVIRONMENT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def train(arguments):
    return run_script("train.py", *arguments, env=ENVIRONMENT)


def checkpoints(workdir):
    return sorted(os.listdir(workdir / "checkpoints"))


def stop_in_epoch_2(image_folder, workdir, signal_number, extra=()):
    """Starts a run, sends `signal_number` once it has checkpointed a step of epoch 2 (of the
    last two it keeps), and returns (exit status, its last line of stderr, the (epoch, step) it
    says it stopped after)."""
    process = start(flags(image_folder, workdir) + EVERY_STEP + list(extra))

    def in_epoch_2():
        names = os.listdir(workdir / "checkpoints") if (workdir / "checkpoints").is_dir() else []
        return any(name >= "epoch_0001_step" and name.endswith(".keras") for name in names)

    wait_for(in_epoch_2, process, "a checkpoint in epoch 2")
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    line = stderr.strip().splitlines()[-1]
    stopped = re.search(r"after epoch (\d+)(?: and step (\d+) of epoch \d+)?, saved in", line)
    assert stopped, line
    return process.returncode, line, (int(stopped.group(1)), int(stopped.group(2) or 0))


def test_sigterm_stops_after_the_step_with_a_checkpoint_and_the_resumed_run_ends_as_an_uninterrupted_one(
        image_folder, tmp_path):
    uninterrupted = train(flags(image_folder, tmp_path / "whole") + EMA)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    workdir = tmp_path / "run"
    status, line, (epoch, step) = stop_in_epoch_2(image_folder, workdir, signal.SIGTERM, EMA)
    assert status == 143
    assert line.startswith("train.py: stopped by SIGTERM after epoch ") and epoch >= 1, line
    assert line.endswith("run the same command again to resume from there")
    # The checkpoint it names is the newest, and the history holds the finished epochs alone.
    name = f"epoch_{epoch:04d}" + (f"_step_{step:06d}" if step else "") + ".keras"
    assert str(workdir / "checkpoints" / name) in line and checkpoints(workdir)[-1] == name
    assert history_epochs(workdir) == list(range(1, epoch + 1))

    resumed = train(flags(image_folder, workdir) + EMA)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    where = f"epoch {epoch}" + (f" and step {step} of epoch {epoch + 1}" if step else "")
    assert f"Resuming {workdir} after {where} of 3." in resumed.stdout
    assert history_epochs(workdir) == [1, 2, 3]
    # The same batches in the same order, from the same weights and optimizer state: the same model.
    assert weights_digest(workdir / "final.keras") == weights_digest(tmp_path / "whole" / "final.keras")


def test_ctrl_c_stops_the_same_way(image_folder, tmp_path):
    status, line, _ = stop_in_epoch_2(image_folder, tmp_path / "run", signal.SIGINT)
    assert status == 130 and line.startswith("train.py: stopped by SIGINT after epoch "), line


def test_checkpoints_within_an_epoch_every_n_steps(image_folder, tmp_path):
    workdir = tmp_path / "run"
    result = train([*flags(image_folder, workdir, epochs=1), "--config.checkpoint_every_steps=5"])
    assert result.returncode == 0, result.stderr[-2000:]
    # Steps 5 and 10 of the 12, then the epoch's own; the last two are kept.
    assert checkpoints(workdir) == ["epoch_0000_step_000010.keras", "epoch_0001.keras"]


def test_sigkill_resumes_from_the_last_checkpoint_and_clears_what_the_kill_left(image_folder, tmp_path):
    """SIGKILL once epoch 2's checkpoint is in place; a checkpoint half-written when the kill
    came is left under its temporary name, as tests/test_training.py's rerun test plants it."""
    workdir = tmp_path / "run"
    process = start(flags(image_folder, workdir, epochs=4))
    wait_for((workdir / "checkpoints" / "epoch_0002.keras").exists, process, "epoch 2's checkpoint")
    process.send_signal(signal.SIGKILL)
    process.communicate()
    half_written = workdir / "checkpoints" / f".epoch_0009.partial-{process.pid}.keras"
    half_written.write_bytes(b"PK half a zip")
    newest = checkpoints(workdir)[-1]
    finished = int(newest[len("epoch_"):len("epoch_") + 4])

    result = train(flags(image_folder, workdir, epochs=4))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Resuming {workdir} after epoch {finished} of 4." in result.stdout
    assert history_epochs(workdir) == [1, 2, 3, 4]
    assert checkpoints(workdir) == ["epoch_0003.keras", "epoch_0004.keras"]
    assert not [path for path in workdir.rglob("*") if "partial" in path.name]


def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(image_folder, tmp_path):
    workdir = tmp_path / "run"
    assert train(flags(image_folder, workdir, epochs=2)).returncode == 0
    newest = workdir / "checkpoints" / "epoch_0002.keras"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    result = train(flags(image_folder, workdir))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Checkpoint {newest} does not load" in result.stdout and "set aside as epoch_0002.keras.corrupt" in result.stdout
    assert f"Resuming {workdir} after epoch 1 of 3." in result.stdout
    assert history_epochs(workdir) == [1, 2, 3]


def test_no_loadable_checkpoint_says_what_to_do(image_folder, tmp_path):
    workdir = tmp_path / "run"
    assert train(flags(image_folder, workdir, epochs=2)).returncode == 0
    for name in checkpoints(workdir):
        (workdir / "checkpoints" / name).write_bytes(b"not a zip")
    result = train(flags(image_folder, workdir))
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line == (f"train.py: error: --workdir {workdir}: no checkpoint loads (each is set aside as *.corrupt): "
                    "start over in another --workdir, or delete this one")


def test_a_second_run_on_the_same_directory_is_refused(image_folder, tmp_path):
    """The first run holds the directory's lock from its start; the second is refused at once."""
    workdir = tmp_path / "run"
    first = start(flags(image_folder, workdir, epochs=50))
    lock = workdir / ".lock"
    wait_for(lambda: lock.exists() and lock.read_text().strip(), first, "the lock, with its holder")
    second = train(flags(image_folder, workdir, epochs=50))
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=300)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1] == (
        f"train.py: error: --workdir {workdir} is in use: process {first.pid} is training in it; wait for it to end, "
        "or choose another --workdir")
