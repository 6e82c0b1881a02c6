"""A training run's work directory: claimed by one config, resumed, written atomically.

  config.json      the resolved config (a rerun must match it to resume)
  labels.txt       class names, one a line, in label order
  split.csv        a folder dataset's images: path (in the folder), class, split
  history.csv      one row per finished epoch
  checkpoints/     the last two checkpoints, model, optimizer and random state: after a finished epoch
                   (epoch_EEEE.keras) or within one (epoch_EEEE_step_SSSSSS.keras: E
                   epochs finished and S steps of the next)
  best.keras       the model kept: the last epoch's, unless an earlier one truly beat it on
                   validation (mobilenet.training.recorder.kept_epoch)
  leader.keras     the model of the highest validation top-1 so far
  final.keras      the model after the last epoch
  .lock            held (fcntl.flock) by the one process that writes the directory

Every file is written under a temporary name and renamed (mobilenet.files), so an
interrupted run leaves either the old file or the new one. A checkpoint that does not
load is set aside (renamed *.corrupt) and the one before it used.
"""

import contextlib
import csv
import dataclasses
import errno
import fcntl
import io
import json
import os
import re
import tempfile
import zipfile

import keras

from mobilenet import files, names
from mobilenet.data import folders
from mobilenet.errors import ParameterError, one_line

CHECKPOINT_PATTERN = re.compile(r"^epoch_(\d{4})(?:_step_(\d{6}))?\.keras$")
KEPT_CHECKPOINTS = 2
RANDOM_STATE = "random_state.json"  # in a checkpoint's zip, beside what Keras writes
# A rerun must agree with the run it resumes on these config fields (with their value in a
# run's config.json from before the field existed).
RUN_IDENTITY = {"alpha": None, "resolution": None, "variant": None, "dataset": None, "train_split": None,
                "eval_split": None, "init_from": None, "validation_fraction": folders.VALIDATION_FRACTION, "teacher": ""}


@dataclasses.dataclass(frozen=True, order=True)
class Position:
    """Where training is: `epoch` epochs finished, and `step` steps of the next one."""

    epoch: int
    step: int = 0

    @property
    def checkpoint_name(self):
        return f"epoch_{self.epoch:04d}" + (f"_step_{self.step:06d}" if self.step else "") + ".keras"

    def __str__(self):
        return f"epoch {self.epoch}" + (f" and step {self.step} of epoch {self.epoch + 1}" if self.step else "")


class RunDirectory:
    """The files of one run in `path`."""

    def __init__(self, path):
        self.path = path
        self.checkpoints = os.path.join(path, "checkpoints")

    def file(self, name):
        return os.path.join(self.path, name)

    @contextlib.contextmanager
    def claimed(self, config, dataset, writable=True):
        """The directory for this run while the block runs: refuses one of another run, or
        (if `writable`) one that cannot be written or that another process writes (it
        holds the lock; the system frees a lock when its process dies, so a killed run
        leaves none); removes what a killed writer left. Writes nothing itself: see
        `write_run_files`."""
        if not writable:
            self._check_identity(config, dataset)
            yield
            return
        try:
            os.makedirs(self.path, exist_ok=True)
            tempfile.NamedTemporaryFile(dir=self.path).close()
        except OSError as error:
            raise ParameterError(f"{{workdir}} {self.path} cannot be written: {error.strerror}") from None
        with self._lock():
            for directory in (self.path, self.checkpoints):
                files.remove_partial_files(directory)  # only now: no other writer is at work
            self._check_identity(config, dataset)
            yield

    @contextlib.contextmanager
    def _lock(self):
        path = self.file(".lock")
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(descriptor)
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise ParameterError(f"{{workdir}} {self.path} is in use: process {holder} is training in it; wait for "
                                 "it to end, or choose another {workdir}") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            if self.read_config() is None:  # a run that never started leaves no lock file behind either
                os.remove(path)
            os.close(descriptor)  # and with it the lock

    def _check_identity(self, config, dataset):
        previous = self.read_config()
        if previous is None:
            return
        resolved = resolved_config(config, dataset)
        changed = [f"{key} {previous.get(key, before)!r} -> {resolved[key]!r}" for key, before in RUN_IDENTITY.items()
                   if previous.get(key, before) != resolved[key]]
        if changed:
            raise ParameterError(
                f"{{workdir}} {self.path} holds another run ({', '.join(changed)}): choose another "
                "{workdir}, or delete it to start over"
            )

    def trained_model(self):
        """The path of best.keras when the directory holds a run with a trained model
        (config.json and best.keras), else None."""
        paths = [self.file("config.json"), self.file(names.BEST_MODEL)]
        return paths[1] if all(os.path.isfile(path) for path in paths) else None

    def read_config(self):
        """The config.json of the run in this directory, or None."""
        if not os.path.exists(self.file("config.json")):
            return None
        with open(self.file("config.json")) as file:
            return json.load(file)

    def write_run_files(self, config, dataset):
        """config.json, labels.txt and, for a folder dataset, split.csv: written only once a
        run has all it needs, so that a run that fails to start leaves nothing behind to claim
        the directory."""
        text = json.dumps(resolved_config(config, dataset), indent=2, sort_keys=True) + "\n"
        files.write_atomically(self.file("config.json"), text)
        files.write_labels(self.path, dataset.class_names)
        if dataset.folder:
            table = io.StringIO()
            writer = csv.writer(table)
            writer.writerow(("path", "class", "split"))
            writer.writerows(dataset.folder.rows())
            files.write_atomically(self.file(names.SPLIT_CSV), table.getvalue())

    def saved_checkpoints(self):
        """[(Position, path)] of the checkpoints, oldest first."""
        names = os.listdir(self.checkpoints) if os.path.isdir(self.checkpoints) else []
        found = [(Position(int(match.group(1)), int(match.group(2) or 0)), os.path.join(self.checkpoints, match.group(0)))
                 for match in map(CHECKPOINT_PATTERN.match, names) if match]
        return sorted(found)

    def restore(self):
        """The model of the newest checkpoint that loads (optimizer state included) and its
        Position, or (None, Position(0)). A newer one that does not load is renamed
        *.corrupt, and said so in one line."""
        saved = self.saved_checkpoints()
        for position, path in reversed(saved):
            try:
                if not zipfile.is_zipfile(path):
                    raise ValueError("not a whole .keras zip archive")
                model = keras.saving.load_model(path, safe_mode=True)
                _restore_random_state(model, path)
                return model, position
            except Exception as error:
                os.replace(path, path + ".corrupt")
                print(f"Checkpoint {path} does not load ({one_line(error)}): set aside as {os.path.basename(path)}"
                      ".corrupt; trying the one before it.", flush=True)
        if saved:
            raise ParameterError(f"{{workdir}} {self.path}: no checkpoint loads (each is set aside as *.corrupt): "
                                 "start over in another {workdir}, or delete this one")
        return None, Position(0)

    def save_checkpoint(self, model, position):
        """The checkpoint at `position`; of the older ones, KEPT_CHECKPOINTS - 1 stay."""
        os.makedirs(self.checkpoints, exist_ok=True)
        with files.atomic_output(os.path.join(self.checkpoints, position.checkpoint_name)) as temporary:
            model.save(temporary)
            with zipfile.ZipFile(temporary, "a") as archive:
                archive.writestr(RANDOM_STATE, json.dumps([state.numpy().tolist() for state in _random_states(model)]))
        for _, path in self.saved_checkpoints()[:-KEPT_CHECKPOINTS]:
            os.remove(path)

    def save_model(self, model, name):
        files.save_model_atomically(model, self.file(name))

    def read_history(self):
        """The history.csv rows as dicts (epoch an int, the rest floats)."""
        if not os.path.exists(self.file("history.csv")):
            return []
        with open(self.file("history.csv"), newline="") as file:
            return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in csv.DictReader(file)]

    def write_history(self, history):
        columns = list(dict.fromkeys(key for row in history for key in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, columns)
        writer.writeheader()
        writer.writerows(history)
        files.write_atomically(self.file("history.csv"), text.getvalue())


def _random_states(model):
    """The state variables of the model's random generators (its dropout's): Keras does not
    save them in a .keras file, and a resumed run must draw the masks an uninterrupted one
    would."""
    return [variable for variable in model.variables if variable.path.endswith("seed_generator_state")]


def _restore_random_state(model, path):
    with zipfile.ZipFile(path) as archive:
        if RANDOM_STATE not in archive.namelist():
            return
        saved = json.loads(archive.read(RANDOM_STATE))
    for variable, state in zip(_random_states(model), saved):
        variable.assign(state)


def resolved_config(config, dataset):
    """The config as a dict, with the splits the dataset chose."""
    resolved = config.to_dict()
    resolved.update(train_split=dataset.train_split, eval_split=dataset.eval_split)
    return resolved
