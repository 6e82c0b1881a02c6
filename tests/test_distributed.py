"""Multi-worker training: two real worker processes on 127.0.0.1, as TF_CONFIG describes them,
each a tests/training_process.py that prints the digest of the weights it ends with."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from mobilenet.model import network as model_lib

from helpers import REPO, history_epochs

pytestmark = pytest.mark.slow


# What a worker says when another process took its port between free_ports() and its bind.
PORT_TAKEN = re.compile(r"address already in use|failed to add port|could not start grpc server", re.IGNORECASE)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Job:
    """The two workers of one job (worker 0 is the chief), their output in files."""

    def __init__(self, image_folder, workdir, temp_dir, epochs):
        cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
        command = [sys.executable, "tests/training_process.py", str(image_folder), str(workdir), "--epochs", str(epochs),
                   "--strategy", "multi_worker", "--batch_size", "4"]
        self.logs = [(temp_dir.parent / f"worker{i}.out", temp_dir.parent / f"worker{i}.err") for i in range(2)]
        self.workers = []
        for index, (out, err) in enumerate(self.logs):
            env = dict(os.environ, TMPDIR=str(temp_dir),
                       TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
            with open(out, "w") as stdout, open(err, "w") as stderr:
                self.workers.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=stdout, stderr=stderr))

    def output(self, index):
        return tuple(path.read_text() for path in self.logs[index])

    def port_was_taken(self):
        return any(PORT_TAKEN.search(self.output(i)[1]) for i in range(2))

    def kill(self):
        for worker in self.workers:
            worker.kill()
            worker.wait()

    def wait(self, until=lambda: False, timeout=300):
        """Waits until every worker has ended, or `until()` holds; a worker that fails
        ends the job, since its peer would wait for it forever."""
        deadline = time.monotonic() + timeout
        while any(worker.poll() is None for worker in self.workers) and not until():
            if any(worker.returncode not in (None, 0) for worker in self.workers):
                self.kill()
            assert time.monotonic() < deadline, "the job did not end"
            time.sleep(0.05)


def start_job(image_folder, workdir, temp_dir, epochs, until=lambda: False):
    """Starts a job and waits as Job.wait does; starts it again, on other ports, when a
    port the OS gave as free was taken before a worker could bind it."""
    for attempt in range(3):
        job = Job(image_folder, workdir, temp_dir, epochs)
        job.wait(until)
        if not job.port_was_taken():
            return job
        job.kill()
    raise AssertionError("three jobs in a row lost a port to another process")


def finish(job):
    """The workers' standard outputs, once all ended well."""
    job.wait()
    for index, worker in enumerate(job.workers):
        assert worker.returncode == 0, job.output(index)[1][-3000:]
    return [job.output(index)[0] for index in range(2)]


def weights_digests(stdouts):
    """The digest of the weights each worker ended with (the last fit's)."""
    return [re.findall(r"weights sha256 (\w+)", out)[-1] for out in stdouts]


def test_two_workers_end_with_the_same_weights_and_only_the_chief_writes(image_folder, tmp_path):
    workdir, temp_dir = tmp_path / "run", tmp_path / "tmp"
    temp_dir.mkdir()
    chief_out, worker_out = finish(start_job(image_folder, workdir, temp_dir, epochs=2))
    chief_digest, worker_digest = weights_digests([chief_out, worker_out])
    assert chief_digest == worker_digest
    # The other worker wrote to a throwaway directory, and removed it.
    throwaway = re.search(r"Not the chief: outputs go to (\S+), deleted", worker_out).group(1)
    assert throwaway.startswith(str(temp_dir)) and not os.path.exists(throwaway)
    assert "Not the chief" not in chief_out
    assert not [name for name in os.listdir(temp_dir) if name.startswith("mobilenet-worker-")]
    assert history_epochs(workdir) == [1, 2]
    assert sorted(os.listdir(workdir / "checkpoints")) == ["epoch_0001.keras", "epoch_0002.keras"]
    model_lib.load_model(str(workdir / "final.keras"))


def test_job_with_a_killed_worker_resumes_when_restarted(image_folder, tmp_path):
    """Worker 1 dies in the middle of the run; the chief cannot go on alone and the job is
    killed, as a cluster manager would; the same job started again resumes."""
    workdir, temp_dir = tmp_path / "run", tmp_path / "tmp"
    temp_dir.mkdir()
    checkpointed = lambda: any((workdir / "checkpoints").glob("epoch_*.keras"))  # renamed into place
    job = start_job(image_folder, workdir, temp_dir, epochs=4, until=checkpointed)
    assert checkpointed(), job.output(0)[1][-3000:]
    job.workers[1].send_signal(signal.SIGKILL)
    job.kill()
    finished = int(max(path.name for path in (workdir / "checkpoints").glob("epoch_*.keras"))[len("epoch_"):-6])
    assert finished < 4

    stdouts = finish(start_job(image_folder, workdir, temp_dir, epochs=4))
    for out in stdouts:
        assert f"Resuming {workdir} after epoch {finished} of 4." in out
    chief_digest, worker_digest = weights_digests(stdouts)
    assert chief_digest == worker_digest
    assert history_epochs(workdir) == [1, 2, 3, 4]
    assert sorted(os.listdir(workdir / "checkpoints")) == ["epoch_0003.keras", "epoch_0004.keras"]
    assert not [path for path in workdir.rglob("*") if "partial" in path.name]
