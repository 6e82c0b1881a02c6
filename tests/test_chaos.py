"""Never lose work: train.py under SIGTERM, SIGKILL in the middle of a checkpoint write, a
corrupt checkpoint, a full disk and a second run on the same directory.

Each case runs train.py's command in a subprocess. A hook in that process (CHILD, which
patches one function and then runs the command) writes a file when it reaches the moment
the test wants, and waits there for the test's next move (a signal, or a line on its
standard input); the test waits for that file, never for a time.
"""

import os
import signal
import subprocess
import sys

import pytest

from mobilenet import distribution
from mobilenet import model as model_lib

from conftest import REPO, run_script, wait_for_file

# The child: python -c CHILD HOOK EVENT_FILE train.py-flags...
CHILD = """
import errno, os, pathlib, signal, sys
import keras
from mobilenet import training
from mobilenet.commands import train

hook, event = sys.argv[1], pathlib.Path(sys.argv[2])

class SignalledInEpoch2(training.EpochRecorder):
    def on_train_batch_end(self, batch, logs=None):
        if hook == "sigterm" and len(self.history) == 1 and batch == 4:
            stops = {signal.SIGTERM, signal.SIGINT}
            signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # held until waited for: none is missed
            event.touch()
            number = signal.sigwait(stops)  # until the test's signal arrives
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            signal.raise_signal(number)  # to training's own handler
        if hook == "hold" and len(self.history) == 0 and batch == 0:
            event.touch()
            sys.stdin.readline()  # until the test says go
        super().on_train_batch_end(batch, logs)

save = keras.Model.save

def failing_save(model, path, *args, **kwargs):  # path: the temporary name of the file being written
    if ".epoch_0002" in str(path) and hook == "kill_in_write":
        with open(path, "wb") as file:
            file.write(b"PK half a zip")
        event.touch()
        signal.pause()  # until the test kills it
    if ".epoch_0002" in str(path) and hook == "disk_full":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return save(model, path, *args, **kwargs)

training.EpochRecorder = SignalledInEpoch2
keras.Model.save = failing_save
train.run(["train.py", *sys.argv[3:]])
"""
# Deterministic kernels, so that an interrupted run can be compared weight for weight.
ENVIRONMENT = dict(os.environ, TF_DETERMINISTIC_OPS="1")


def flags(image_folder, workdir, epochs=3):
    return ["--dataset", f"folder:{image_folder}", "--alpha", "0.25", "--resolution", "32", "--epochs", str(epochs),
            "--batch_size", "2", "--workdir", str(workdir), "--config.warmup_epochs=0", "--config.eval_batch_size=8"]


def start(hook, event, arguments):
    return subprocess.Popen([sys.executable, "-c", CHILD, hook, str(event), *arguments], cwd=REPO, env=ENVIRONMENT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def train(arguments):
    return run_script("train.py", *arguments, env=ENVIRONMENT)


def weights_digest(path):
    return distribution.weights_digest(model_lib.load_model(str(path)))


def checkpoints(workdir):
    return sorted(os.listdir(workdir / "checkpoints"))


def history_epochs(workdir):
    return [int(line.split(",")[0]) for line in (workdir / "history.csv").read_text().splitlines()[1:]]


# With the EMA of the weights on, final.keras holds the averages of every step's weights, with
# batch-norm statistics measured for them: equal averages mean that the trained weights were
# equal at every step too, and that the averages were resumed.
EMA = ["--config.ema=True", "--config.ema_momentum=0.9"]


def test_sigterm_mid_epoch_stops_with_a_checkpoint_and_the_resumed_run_ends_as_an_uninterrupted_one(
        image_folder, tmp_path):
    uninterrupted = train(flags(image_folder, tmp_path / "whole") + EMA)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    workdir, event = tmp_path / "run", tmp_path / "in_epoch_2"
    process = start("sigterm", event, flags(image_folder, workdir) + EMA)
    wait_for_file(event, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("train.py: stopped by SIGTERM after epoch 1 and step 5 of epoch 2, saved in "), line
    assert line.endswith("run the same command again to resume from there")
    assert checkpoints(workdir) == ["epoch_0001.keras", "epoch_0001_step_000005.keras"]
    assert history_epochs(workdir) == [1]

    resumed = train(flags(image_folder, workdir) + EMA)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resuming {workdir} after epoch 1 and step 5 of epoch 2 of 3." in resumed.stdout
    assert history_epochs(workdir) == [1, 2, 3]
    # The same batches in the same order, from the same weights and optimizer state: the same model.
    assert weights_digest(workdir / "final.keras") == weights_digest(tmp_path / "whole" / "final.keras")


def test_checkpoints_within_an_epoch_every_n_steps(image_folder, tmp_path):
    workdir = tmp_path / "run"
    result = train([*flags(image_folder, workdir, epochs=1), "--config.checkpoint_every_steps=5"])
    assert result.returncode == 0, result.stderr[-2000:]
    # Steps 5 and 10 of the 12, then the epoch's own; the last two are kept.
    assert checkpoints(workdir) == ["epoch_0000_step_000010.keras", "epoch_0001.keras"]


def test_kill_during_a_checkpoint_write_resumes_from_the_checkpoint_before(image_folder, tmp_path):
    workdir, event = tmp_path / "run", tmp_path / "writing"
    process = start("kill_in_write", event, flags(image_folder, workdir))
    wait_for_file(event, process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert [name for name in checkpoints(workdir) if "partial" in name]  # what the kill left
    result = train(flags(image_folder, workdir))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Resuming {workdir} after epoch 1 of 3." in result.stdout
    assert history_epochs(workdir) == [1, 2, 3]
    assert checkpoints(workdir) == ["epoch_0002.keras", "epoch_0003.keras"]


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


def test_a_full_disk_stops_with_one_line_and_loses_no_finished_epoch(image_folder, tmp_path):
    workdir = tmp_path / "run"
    process = start("disk_full", tmp_path / "unused", flags(image_folder, workdir))
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("train.py: error: No space left on device: ") and "the last finished epoch is kept" in line
    assert checkpoints(workdir) == ["epoch_0001.keras"]
    assert not [path for path in workdir.rglob("*") if "partial" in path.name]
    result = train(flags(image_folder, workdir))
    assert result.returncode == 0 and f"Resuming {workdir} after epoch 1 of 3." in result.stdout


def test_a_second_run_on_the_same_directory_is_refused(image_folder, tmp_path):
    workdir, event = tmp_path / "run", tmp_path / "training"
    first = start("hold", event, flags(image_folder, workdir, epochs=1))
    wait_for_file(event, first)
    second = train(flags(image_folder, workdir, epochs=1))
    stdout, stderr = first.communicate(input="go\n", timeout=300)
    assert first.returncode == 0, stderr[-2000:]
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1] == (
        f"train.py: error: --workdir {workdir} is in use: process {first.pid} is training in it; wait for it to end, "
        "or choose another --workdir")
    assert history_epochs(workdir) == [1]


@pytest.mark.parametrize("signal_number,status", [(signal.SIGINT, 130)])
def test_ctrl_c_stops_the_same_way(image_folder, tmp_path, signal_number, status):
    workdir, event = tmp_path / "run", tmp_path / "in_epoch_2"
    process = start("sigterm", event, flags(image_folder, workdir))
    wait_for_file(event, process)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status and "stopped by SIGINT after epoch 1 and step 5 of epoch 2" in stderr
