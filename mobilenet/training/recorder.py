"""What training leaves after every epoch, and how it stops: `EpochRecorder`, a Keras
callback that writes the history row, best.keras and the checkpoint (and checkpoints within
an epoch when asked), and `stop_on_signals`, which turns SIGTERM and SIGINT into a stop
after the step in progress, with a checkpoint there.

Which epoch's model is kept as best.keras (`kept_epoch`): the last one, unless an earlier one
scored a validation top-1 above the last one's 95 % Wilson upper bound (mobilenet.intervals).
On a small validation split the epoch of the highest top-1 is mostly noise: a lucky early,
untrained epoch must not win over a trained one it does not truly beat. The rule is applied
after every epoch, so best.keras always holds it for the epochs so far, and is settled when
training ends.
"""

import contextlib
import math
import os
import shutil
import signal
import threading
import time

import keras

from mobilenet import files, intervals, names
from mobilenet.errors import TrainingInterrupted
from mobilenet.training.run_directory import Position


@contextlib.contextmanager
def stop_on_signals(recorder):
    """While training, SIGTERM (a preemptible VM, Kubernetes, a batch scheduler) and SIGINT
    (Ctrl-C) stop it after the step in progress, with a checkpoint (EpochRecorder); the
    previous handlers come back after. Only the main thread can take signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = lambda signal_number, frame: recorder.stop(signal_number)
    previous = {number: signal.signal(number, handler) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, previous_handler in previous.items():
            signal.signal(number, previous_handler)


def kept_epoch(history):
    """The epoch whose model best.keras keeps (see the module docstring), from the history's
    rows (epoch, val_top1, val_examples); None before any validated epoch."""
    validated = [row for row in history if "val_top1" in row]
    if not validated:
        return None
    *earlier, last = validated
    leader = max(earlier, key=lambda row: row["val_top1"], default=None)
    _, upper = intervals.wilson(last["val_top1"], int(last.get("val_examples", 0)) or 10**9)
    return leader["epoch"] if leader and leader["val_top1"] > upper else last["epoch"]


def validation_line(row):
    """"validation top-1 0.7500 on 12 images (95 % interval ...)" of a history row."""
    return f"validation top-1 {intervals.describe(row['val_top1'], int(row.get('val_examples', 0)))}"


class EpochRecorder(keras.callbacks.Callback):
    """Writes the history row, best.keras and the checkpoint after every epoch, and
    checkpoints within an epoch every `every_steps` steps or `every_minutes` minutes.

    The order matters for resuming: the checkpoint comes last, so that a run killed
    while writing redoes the epoch, and rows of epochs after the checkpoint are dropped.
    It stops training when the loss becomes NaN or infinite, and, after `stop(signal)`,
    at the end of the step in progress with a checkpoint there (TrainingInterrupted).
    With `epoch_lines` (the run's epochs), it prints one line per epoch, for output that does
    not go to a terminal and so has no Keras progress bar.
    """

    def __init__(self, run, history, steps_per_epoch, averaged, every_steps=0, every_minutes=0.0, epoch_lines=0,
                 validation_examples=0):
        super().__init__()
        self.validation_examples = validation_examples  # images of the validation split
        self.epoch_lines = epoch_lines
        self.run = run
        self.averaged = averaged  # a weight_averaging.AveragedWeights: best.keras holds what was validated
        self.history = history
        self.steps_per_epoch = steps_per_epoch
        self.every_steps = every_steps
        self.every_seconds = 60 * every_minutes
        self.diverged = None
        self.stopped_by = None  # the number of the signal that asked to stop
        self.position = Position(0)  # of the training, after the last finished step
        self.saved = None  # the last checkpoint written
        self._epoch_start = self._last_save = None
        self._first_step = 0

    def start(self, position):
        """Where the next fit starts: steps of a resumed epoch count from there."""
        self.position = position
        self._first_step = position.step

    def stop(self, signal_number):
        self.stopped_by = signal_number

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._last_save = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = float(loss)
            self.model.stop_training = True
            return
        self.position = Position(self.position.epoch, self._first_step + batch + 1)
        if self.position.step == self.steps_per_epoch:
            return  # the epoch's own checkpoint follows, after its validation
        due = (self.every_steps and self.position.step % self.every_steps == 0) or (
            self.every_seconds and time.perf_counter() - self._last_save >= self.every_seconds)
        if due or self.stopped_by is not None:
            self._save_checkpoint()
        self._stop_if_asked()

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged is not None:
            return
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row["seconds"] = time.perf_counter() - self._epoch_start
        if "val_top1" in row:
            row["val_examples"] = self.validation_examples
            if self.validation_examples < intervals.SMALL:
                row["val_top1_low"], row["val_top1_high"] = intervals.wilson(row["val_top1"], self.validation_examples)
        leader = max((r.get("val_top1", -1) for r in self.history), default=-1)
        self.history.append(row)
        self.run.write_history(self.history)
        self._keep_models(row, leads=row.get("val_top1", -1) > leader)
        self.position, self._first_step = Position(epoch + 1), 0
        self._save_checkpoint()
        if self.epoch_lines:
            kept = kept_epoch(self.history)
            print(f"Epoch {epoch + 1}/{self.epoch_lines}: loss {row.get('loss', float('nan')):.4f}, top-1 "
                  f"{row.get('top1', float('nan')):.4f}, {validation_line(row) if 'val_top1' in row else 'no validation'}"
                  f"{'' if kept in (None, epoch + 1) else f' (kept: epoch {kept})'}, {row['seconds']:.0f} s", flush=True)
        self._stop_if_asked()

    def _keep_models(self, row, leads):
        """best.keras as kept_epoch says: this epoch's model (saved once, and copied to
        leader.keras when it leads: a leading epoch is always kept), or the leader's, an earlier
        epoch that truly beat it (copied only when the kept epoch changes)."""
        kept = kept_epoch(self.history)
        if kept == row["epoch"]:
            with self.averaged.swapped_in():
                self.run.save_model(self.model, names.BEST_MODEL)
            if leads:
                self._copy(names.BEST_MODEL, names.LEADER_MODEL)
        elif kept != kept_epoch(self.history[:-1]):
            self._copy(names.LEADER_MODEL, names.BEST_MODEL)

    def _copy(self, source, target):
        with files.atomic_output(self.run.file(target)) as temporary:
            shutil.copyfile(self.run.file(source), temporary)

    def _stop_if_asked(self):
        # Raised out of fit: Keras would otherwise still validate, and count a cut epoch as whole.
        if self.stopped_by is not None:
            raise TrainingInterrupted(self.stopped_by, self.position, self.saved)

    def _save_checkpoint(self):
        self.run.save_checkpoint(self.model, self.position)
        self.saved = os.path.join(self.run.checkpoints, self.position.checkpoint_name)
        self._last_save = time.perf_counter()
