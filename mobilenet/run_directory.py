"""A training run's work directory: claimed by one config, resumed, written atomically.

  config.json      the resolved config (a rerun must match it to resume)
  labels.txt       class names, one a line, in label order
  history.csv      one row per finished epoch
  checkpoints/     the last finished epoch, model and optimizer (epoch_NNNN.keras)
  best.keras       the model of the best validation top-1
  final.keras      the model after the last epoch

Every file is written under a temporary name and renamed (mobilenet.files), so an
interrupted run leaves either the old file or the new one.
"""

import csv
import io
import json
import os
import re
import tempfile

import keras

from mobilenet import files
from mobilenet.errors import ParameterError

CHECKPOINT_PATTERN = re.compile(r"^epoch_(\d{4})\.keras$")
# A rerun must agree with the run it resumes on these config fields.
RUN_IDENTITY = ("alpha", "resolution", "variant", "dataset", "train_split", "eval_split", "init_from")


class RunDirectory:
    """The files of one run in `path`."""

    def __init__(self, path):
        self.path = path
        self.checkpoints = os.path.join(path, "checkpoints")

    def file(self, name):
        return os.path.join(self.path, name)

    def claim(self, config, dataset, writable=True):
        """Refuses a directory of another run, or (if `writable`) one that cannot be written;
        removes what a killed writer left. Writes nothing: see `write_run_files`."""
        if writable:
            try:
                os.makedirs(self.path, exist_ok=True)
                tempfile.NamedTemporaryFile(dir=self.path).close()
                for directory in (self.path, self.checkpoints):
                    files.remove_partial_files(directory)
            except OSError as error:
                raise ParameterError(f"{{workdir}} {self.path} cannot be written: {error.strerror}") from None
        previous = self.read_config()
        if previous is None:
            return
        resolved = resolved_config(config, dataset)
        changed = [f"{key} {previous.get(key)!r} -> {resolved[key]!r}" for key in RUN_IDENTITY
                   if previous.get(key) != resolved[key]]
        if changed:
            raise ParameterError(
                f"{{workdir}} {self.path} holds another run ({', '.join(changed)}): choose another "
                "{workdir}, or delete it to start over"
            )

    def read_config(self):
        """The config.json of the run in this directory, or None."""
        if not os.path.exists(self.file("config.json")):
            return None
        with open(self.file("config.json")) as file:
            return json.load(file)

    def write_run_files(self, config, dataset):
        """config.json and labels.txt: written only once a run has all it needs, so that a
        run that fails to start leaves nothing behind to claim the directory."""
        text = json.dumps(resolved_config(config, dataset), indent=2, sort_keys=True) + "\n"
        files.write_atomically(self.file("config.json"), text)
        files.write_labels(self.path, dataset.class_names)

    def last_checkpoint(self):
        """(path, epoch) of the last finished epoch's checkpoint, or (None, 0)."""
        names = os.listdir(self.checkpoints) if os.path.isdir(self.checkpoints) else []
        epochs = sorted(int(match.group(1)) for match in map(CHECKPOINT_PATTERN.match, names) if match)
        if not epochs:
            return None, 0
        return os.path.join(self.checkpoints, f"epoch_{epochs[-1]:04d}.keras"), epochs[-1]

    def restore(self):
        """The model of the last finished epoch (optimizer state included) and that
        epoch's number, or (None, 0)."""
        path, epoch = self.last_checkpoint()
        if path is None:
            return None, 0
        return keras.saving.load_model(path, safe_mode=True), epoch

    def save_checkpoint(self, model, epoch):
        """The checkpoint of finished epoch `epoch` (1-based); older ones are removed."""
        os.makedirs(self.checkpoints, exist_ok=True)
        files.save_model_atomically(model, os.path.join(self.checkpoints, f"epoch_{epoch:04d}.keras"))
        for name in os.listdir(self.checkpoints):
            match = CHECKPOINT_PATTERN.match(name)
            if match and int(match.group(1)) != epoch:
                os.remove(os.path.join(self.checkpoints, name))

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


def resolved_config(config, dataset):
    """The config as a dict, with the splits the dataset chose."""
    resolved = config.to_dict()
    resolved.update(train_split=dataset.train_split, eval_split=dataset.eval_split)
    return resolved
