"""What training leaves after every epoch, and how it stops: `EpochRecorder`, a Keras
callback that writes the history row, best.keras and the checkpoint (and checkpoints within
an epoch when asked), and `stop_on_signals`, which turns SIGTERM and SIGINT into a stop
after the step in progress, with a checkpoint there.
"""

import contextlib
import math
import os
import signal
import threading
import time

import keras

from mobilenet import names
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

    def __init__(self, run, history, steps_per_epoch, averaged, every_steps=0, every_minutes=0.0, epoch_lines=0):
        super().__init__()
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
        best = max((r.get("val_top1", -1) for r in self.history), default=-1)
        self.history.append(row)
        self.run.write_history(self.history)
        if row.get("val_top1", -1) > best:
            with self.averaged.swapped_in():
                self.run.save_model(self.model, names.BEST_MODEL)
        self.position, self._first_step = Position(epoch + 1), 0
        self._save_checkpoint()
        if self.epoch_lines:
            print(f"Epoch {epoch + 1}/{self.epoch_lines}: loss {row.get('loss', float('nan')):.4f}, top-1 "
                  f"{row.get('top1', float('nan')):.4f}, validation top-1 {row.get('val_top1', float('nan')):.4f} "
                  f"(best {max(best, row.get('val_top1', -1)):.4f}), {row['seconds']:.0f} s", flush=True)
        self._stop_if_asked()

    def _stop_if_asked(self):
        # Raised out of fit: Keras would otherwise still validate, and count a cut epoch as whole.
        if self.stopped_by is not None:
            raise TrainingInterrupted(self.stopped_by, self.position, self.saved)

    def _save_checkpoint(self):
        self.run.save_checkpoint(self.model, self.position)
        self.saved = os.path.join(self.run.checkpoints, self.position.checkpoint_name)
        self._last_save = time.perf_counter()
