"""Shared fixtures: the read-only data in ../shared, a tiny image folder, and one tiny trained
run that every test process shares (helpers.py has the functions the tests import)."""

import fcntl
import os
import pathlib

import pytest

from helpers import SHARED, train_tiny_run, write_image_folder
from mobilenet.commands import cli

# TensorFlow's environment as the commands set it, before a test loads TensorFlow.
for name, value in cli.tensorflow_variables().items():
    os.environ.setdefault(name, value)


@pytest.fixture(scope="session")
def shared():
    """The ../shared folder; CI always has it, so there a missing folder is a failure."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing: CI must run the tests that read ../shared")
        pytest.skip(f"{SHARED} (read-only reference data) is not beside the repository")
    return SHARED


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("folder"))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(the work directory, its image folder) of one tiny run, trained once per test run: the
    xdist workers share it through the directory above their own temporary ones, and the first
    to take the lock trains it (2 epochs of α 0.25 at 32 pixels, seconds). Tests read it, never
    write into it: one that needs to change a run copies it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # each worker's directory is inside the run's own
    with open(root / "tiny_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return train_tiny_run(root)


@pytest.fixture
def tiny_run_copy(tiny_run, tmp_path):
    """(a copy of tiny_run's work directory in this test's own folder, its image folder): for a
    test that claims, resumes or writes into a run."""
    import shutil

    workdir, folder = tiny_run
    return pathlib.Path(shutil.copytree(workdir, tmp_path / "run")), folder
