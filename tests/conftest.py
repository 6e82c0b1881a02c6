"""Shared test fixtures: the read-only data in ../shared and quiet TensorFlow logs."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("MOBILENET_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared():
    """The ../shared folder; CI always has it, so there a missing folder is a failure."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing: CI must run the tests that read ../shared")
        pytest.skip(f"{SHARED} (read-only reference data) is not beside the repository")
    return SHARED
