"""Atomic file output: a file is complete under its final name, or not there at all."""

import contextlib
import os
import re

from mobilenet import names
from mobilenet.errors import ParameterError

# What atomic_output names a file while it is being written.
PARTIAL_NAME = re.compile(r"^\..+\.partial-\d+(\.\w+)?$")


@contextlib.contextmanager
def atomic_output(path):
    """Yields a temporary path beside `path`; renames it to `path` if the block succeeds.

    The temporary name keeps the extension (Keras and TFLite tools look at it) and is
    removed if the block fails, so an interrupted or failed write leaves nothing behind.
    """
    directory, name = os.path.split(os.path.abspath(path))
    stem, extension = os.path.splitext(name)
    temporary = os.path.join(directory, f".{stem}.partial-{os.getpid()}{extension}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def remove_partial_files(directory):
    """Removes what writers killed mid-write (SIGKILL skips cleanup) left in `directory`."""
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if PARTIAL_NAME.match(name):
            os.remove(os.path.join(directory, name))


def write_atomically(path, content):
    """Writes `content` (str or bytes) to `path` atomically."""
    with atomic_output(path) as temporary:
        with open(temporary, "wb" if isinstance(content, bytes) else "w") as file:
            file.write(content)


def save_model_atomically(model, path):
    with atomic_output(path) as temporary:
        model.save(temporary)


def write_labels(directory, class_names):
    """Writes `directory`/labels.txt: the class names, one a line, in label order."""
    write_atomically(os.path.join(directory, names.LABELS), "".join(f"{name}\n" for name in class_names))


def check_writable(path, parameter):
    """Raises ParameterError naming `parameter` unless `path`'s directory exists and can be
    written: checked before the work that would end in writing it."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise ParameterError(f"{{{parameter}}} {path}: directory {directory} does not exist or cannot be written")
