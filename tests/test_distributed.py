"""Multi-worker training: two real worker processes on 127.0.0.1, as TF_CONFIG describes them."""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from mobilenet import model as model_lib

from conftest import REPO


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(image_folder, workdir, temp_dir, epochs):
    """Starts the two workers of one job; worker 0 is the chief."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    command = [sys.executable, "train.py", "--dataset", f"folder:{image_folder}", "--alpha", "0.25",
               "--resolution", "32", "--epochs", str(epochs), "--batch_size", "4", "--workdir", str(workdir),
               "--config.strategy=multi_worker", "--config.eval_batch_size=4", "--config.warmup_epochs=0"]
    workers = []
    for index in range(2):
        env = dict(os.environ, TMPDIR=str(temp_dir),
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True))
    return workers


def finish(workers):
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in outputs]


def weights_digests(stdouts):
    return [re.search(r"worker (\d) finished with weights sha256 (\w+)", out).groups() for out in stdouts]


def history_epochs(workdir):
    with open(workdir / "history.csv") as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


def test_two_workers_end_with_the_same_weights_and_only_the_chief_writes(image_folder, tmp_path):
    workdir, temp_dir = tmp_path / "run", tmp_path / "tmp"
    temp_dir.mkdir()
    chief_out, worker_out = finish(start_workers(image_folder, workdir, temp_dir, epochs=2))
    (chief_id, chief_digest), (worker_id, worker_digest) = weights_digests([chief_out, worker_out])
    assert (chief_id, worker_id) == ("0", "1") and chief_digest == worker_digest
    # The other worker wrote to a throwaway directory, and removed it.
    throwaway = re.search(r"Not the chief: outputs go to (\S+), deleted", worker_out).group(1)
    assert throwaway.startswith(str(temp_dir)) and not os.path.exists(throwaway)
    assert "Not the chief" not in chief_out
    assert not [name for name in os.listdir(temp_dir) if name.startswith("mobilenet-worker-")]
    assert history_epochs(workdir) == [1, 2]
    assert os.listdir(workdir / "checkpoints") == ["epoch_0002.keras"]
    model_lib.load_model(str(workdir / "final.keras"))


def test_job_with_a_killed_worker_resumes_when_restarted(image_folder, tmp_path):
    """Worker 1 dies in the middle of the run; the chief cannot go on alone and the job is
    killed, as a cluster manager would; the same job started again resumes."""
    workdir, temp_dir = tmp_path / "run", tmp_path / "tmp"
    temp_dir.mkdir()
    chief, worker = start_workers(image_folder, workdir, temp_dir, epochs=4)
    deadline = time.time() + 300
    while not (workdir / "checkpoints").is_dir() or not os.listdir(workdir / "checkpoints"):
        assert time.time() < deadline and chief.poll() is None, chief.communicate()[1][-3000:]
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    time.sleep(1)
    chief.send_signal(signal.SIGKILL)
    for process in (chief, worker):
        process.communicate()
    checkpoints = [name for name in os.listdir(workdir / "checkpoints") if not name.startswith(".")]
    finished = int(max(checkpoints)[len("epoch_"):-len(".keras")])
    assert finished < 4

    stdouts = finish(start_workers(image_folder, workdir, temp_dir, epochs=4))
    for out in stdouts:
        assert f"Resuming {workdir} after epoch {finished} of 4." in out
    (_, chief_digest), (_, worker_digest) = weights_digests(stdouts)
    assert chief_digest == worker_digest
    assert history_epochs(workdir) == [1, 2, 3, 4]
    assert os.listdir(workdir / "checkpoints") == ["epoch_0004.keras"]
    assert not [path for path in workdir.rglob("*") if "partial" in path.name]
