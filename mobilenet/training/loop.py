"""Training: a config and a work directory in, a trained model and its records out.

`train(config, workdir)` builds (or resumes) the model, fits it epoch by epoch and leaves
in the work directory what mobilenet.training.run_directory lists: the resolved config,
labels, the history, TensorBoard logs, the last checkpoints, best.keras and final.keras.
Rerunning it resumes from the last checkpoint: after the last finished epoch, or within an
epoch when config.checkpoint_every_steps (or _minutes) asks for checkpoints there. SIGTERM
and SIGINT stop it after the step in progress, with a checkpoint (mobilenet.training.recorder).
"""

import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile

import keras
import tensorflow as tf

from mobilenet import configs, names
from mobilenet.data import augmentation, class_balance, datasets, input_pipeline
from mobilenet.errors import ParameterError, StorageError, TrainingDiverged, one_line
from mobilenet.model import network, transfer
from mobilenet.training import batch_norm, distillation, distribution, linear_head, objective, weight_averaging
from mobilenet.training.recorder import EpochRecorder, kept_epoch, stop_on_signals
from mobilenet.training.run_directory import Position, RunDirectory


@dataclasses.dataclass
class TrainingRun:
    """What `train` returns: the work directory and the history of every finished epoch."""

    workdir: str
    history: list  # one dict per epoch: epoch, loss, top1, top5, val_*, learning_rate, seconds

    @property
    def best_model(self):
        """The path of the model kept (what export takes): the last epoch's, unless an earlier
        epoch truly beat it on validation (mobilenet.training.recorder.kept_epoch)."""
        return os.path.join(self.workdir, names.BEST_MODEL)

    @property
    def final_model(self):
        return os.path.join(self.workdir, names.FINAL_MODEL)

    @property
    def kept(self):
        """The epoch whose model best_model holds."""
        return kept_epoch(self.history)


def train(config, workdir=None, callbacks=()):
    """Trains (or resumes training) as `config` says; returns a `TrainingRun`.

    Args:
      config: a training config (`mobilenet.get_config(...)`), checked first.
      workdir: the run's directory; default runs/mobilenet_v1_<α>_<ρ>.
      callbacks: more Keras callbacks for `fit` (early stopping, your own logging), called
        after this module's own, which write the epoch's records first; from their
        `on_test_begin` to their `on_test_end` the model holds what validation sees (with
        config.ema, the weights' average).

    Raises:
      ParameterError: a config field, the dataset or the work directory is not valid.
      TrainingDiverged: the loss became NaN or infinite.
      TrainingInterrupted: SIGTERM or SIGINT stopped it; a checkpoint was written.
      StorageError: an output could not be written; finished epochs are kept.
    """
    configs.validate(config)
    workdir = workdir or names.default_workdir(config.alpha, config.resolution, config.variant)
    try:
        with _precision_policy(config.mixed_precision or "float32"):
            return _train(config, RunDirectory(workdir), list(callbacks))
    except OSError as error:  # a full disk, a file system gone read-only: nothing half-written is left
        raise StorageError(
            f"{error.strerror or one_line(error)}: {error.filename or workdir}; the last finished epoch "
            "is kept: free space (or choose another {workdir}) and rerun to resume"
        ) from None


@contextlib.contextmanager
def _precision_policy(name):
    """Keras' global dtype policy `name` while the block runs, the previous one after:
    layers take it when they are built, and a later model in this process must not."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _train(config, run, user_callbacks):
    strategy = distribution.make_strategy(config.strategy)
    dataset = datasets.load_dataset(config.dataset, config.data_dir or None, config.train_split, config.eval_split,
                                    config.validation_fraction)
    teacher = distillation.load_teacher(config.teacher, dataset.class_names) if config.teacher else None
    # Only the chief writes into the work directory (and holds its lock); other workers
    # write to a throwaway one (TF's multi-worker guide), but all resume from the work
    # directory, which must then be on storage every worker reads (NFS, GCS).
    chief = distribution.is_chief(strategy)
    with run.claimed(config, dataset, writable=chief):
        config, notices = _fitted_to_the_data(config, dataset)
        steps_per_epoch = _steps_per_epoch(config, dataset.num_examples(dataset.train_split))
        # Also when resuming: TensorFlow combines this global seed with the pipeline's own
        # shuffle seed, so the batches of a resumed run are those of an uninterrupted one.
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            model, position = run.restore()
            if model is None:
                model = _new_model(config, dataset.num_classes)
            elif weight_averaging.uses_ema(model) != config.ema:
                raise ParameterError(f"{{config.ema}} is {config.ema}, but this run's checkpoints were trained with "
                                     f"ema {weight_averaging.uses_ema(model)}: keep it, or start over in another {{workdir}}")
        print("\n".join(_data_lines(dataset, run) + notices), flush=True)
        if position.epoch or position.step:
            print(f"Resuming {run.path} after {position} of {config.epochs}.")
        history = [row for row in run.read_history() if row["epoch"] <= position.epoch]
        output = run if chief else RunDirectory(tempfile.mkdtemp(prefix="mobilenet-worker-"))
        if not chief:
            print(f"Not the chief: outputs go to {output.path}, deleted at the end; {run.path} is the chief's.")
        output.write_run_files(config, dataset)

        # With config.ema, validation, best.keras and final.keras hold the averaged weights,
        # with batch-norm statistics measured on training crops (no other augmentation).
        averaged = weight_averaging.AveragedWeights(model, lambda: training_stream(config, dataset))
        recorder = EpochRecorder(output, history, steps_per_epoch, averaged, config.checkpoint_every_steps,
                                 config.checkpoint_every_minutes, epoch_lines=config.epochs if not _on_a_terminal() else 0,
                                 validation_examples=dataset.num_examples(dataset.eval_split))
        callbacks = [recorder, keras.callbacks.TensorBoard(output.file("tensorboard"), write_graph=False), averaged,
                     *user_callbacks]
        with stop_on_signals(recorder):
            _fit_phases(model, config, strategy, dataset, teacher, steps_per_epoch, position, phases(config), recorder,
                        callbacks)
        with averaged.swapped_in():
            output.save_model(model, names.FINAL_MODEL)
    if not chief:
        shutil.rmtree(output.path, ignore_errors=True)
    return TrainingRun(run.path, recorder.history)


def _fitted_to_the_data(config, dataset):
    """(the config fitted to the data, the notices saying how): its batch no larger than the
    training split; and with fewer than config.frozen_below_per_class training images in a
    class, a backbone that stays frozen throughout (on a few photos a class, fine-tuning every
    layer lost held-out accuracy against the fitted head alone: docs/BENCHMARKS.md)."""
    fitted, notices = config.copy_and_resolve_references(), []
    train_examples = dataset.num_examples(dataset.train_split)
    if config.batch_size > train_examples:
        fitted.batch_size = train_examples
        notices.append(f"config.batch_size {config.batch_size} is larger than the {train_examples} training images: "
                       f"batches of {train_examples}")
    if config.init_from and config.frozen_below_per_class and config.frozen_epochs < config.epochs:
        smallest = min(datasets.class_counts(dataset, dataset.train_split))
        if smallest < config.frozen_below_per_class:
            fitted.frozen_epochs = config.epochs
            notices.append(f"the smallest class has {smallest} training images, fewer than "
                           f"config.frozen_below_per_class {config.frozen_below_per_class}: the backbone stays frozen "
                           f"and the head alone trains, at config.frozen_learning_rate {config.frozen_learning_rate:g}")
    return fitted, notices


def _steps_per_epoch(config, train_examples):
    """One pass over the training split, or more when a phase would otherwise take fewer than
    config.min_steps_per_phase optimizer steps (a few dozen photos: a handful of steps an epoch)."""
    steps = train_examples // config.batch_size
    for phase in phases(config):
        if phase.end > phase.start:
            steps = max(steps, -(-config.min_steps_per_phase // (phase.end - phase.start)))
    return steps


def _data_lines(dataset, run):
    """What the run learns from and is checked on: its classes and the images of each split,
    and the files of a folder that are not images."""
    def count(role, split, what=""):
        named = "" if split == role else f" ({split}{what})"
        return f"{role} {dataset.num_examples(split):,}{named}"

    counts = [count("train", dataset.train_split), count("validation", dataset.eval_split)]
    if dataset.test_split != dataset.eval_split:
        counts.append(count("test", dataset.test_split, ", what export evaluates"))
    lines = [f"{dataset.name}: {dataset.num_classes} classes; images: " + ", ".join(counts)]
    if dataset.folder and dataset.folder.layout == "classes":
        lines[0] += (f"; about {dataset.folder.validation_fraction:.0%} of each class held out for validation by a "
                     f"hash of each file's path, listed in {run.file(names.SPLIT_CSV)}")
    if dataset.folder and dataset.folder.skipped:
        skipped = dataset.folder.skipped
        lines.append(f"{dataset.name}: left out {len(skipped)} file(s) that are not readable images "
                     f"({input_pipeline.READABLE_FORMATS}), e.g. {skipped[0]}")
    return lines


def _on_a_terminal():
    """Whether what training prints goes to a terminal: Keras' progress bars there; elsewhere
    (a log file, CI, a notebook) one line per epoch, without the bars' control characters."""
    return sys.stdout.isatty()


def _new_model(config, num_classes):
    model = build_model(config, num_classes)
    if config.init_from:
        transfer.load_backbone_weights(model, config.init_from, config.alpha, config.resolution)
    return model


def build_model(config, num_classes):
    return network.mobilenet_v1(
        config.alpha,
        config.resolution,
        num_classes=num_classes,
        variant=config.variant,
        dropout_rate=config.dropout_rate,
        weight_decay=config.weight_decay,
        batch_norm_momentum=config.batch_norm_momentum,
        batch_norm_epsilon=config.batch_norm_epsilon,
    )


@dataclasses.dataclass(frozen=True)
class Phase:
    """Epochs [start, end) trained with one optimizer, the backbone frozen or not."""

    start: int
    end: int
    frozen: bool
    learning_rate: float


def phases(config):
    """The phases of a run: with transfer learning the new head first trains alone on a frozen
    backbone (config.frozen_epochs, at config.frozen_learning_rate), then every layer; the
    first is empty without it."""
    frozen_end = min(config.frozen_epochs, config.epochs)
    return [Phase(0, frozen_end, True, config.frozen_learning_rate),
            Phase(frozen_end, config.epochs, False, config.learning_rate)]


def _fit_phases(model, config, strategy, dataset, teacher, steps_per_epoch, position, run_phases, recorder, callbacks):
    """Fits from `position` through `run_phases`; `recorder` (the EpochRecorder among
    `callbacks`) says where each fit starts and whether the loss diverged. With
    config.adapt_batch_norm, a new run first measures the backbone's batch-norm statistics
    on this data (mobilenet.training.batch_norm).

    The training stream is one endless sequence of batches, the same for a given seed
    (input_pipeline.train_images): a fit that starts at global step G takes it from
    batch G on, so a run resumed mid-epoch trains on exactly the batches an uninterrupted
    one would have. A resumed epoch is first finished alone (its remaining steps), then
    the whole epochs follow.
    """
    augment_image, batch_stages = augmentation.image_augmentation(config), _batch_stages(config, dataset, teacher)
    train_from = lambda step: training_stream(
        config, dataset, start_batch=step, augment_image=augment_image, batch_stages=batch_stages)
    one_hot = lambda images, labels: (images, tf.one_hot(labels, dataset.num_classes))
    eval_data = input_pipeline.eval_images(dataset, config.resolution, config.eval_batch_size).map(one_hot)
    if config.adapt_batch_norm and position == Position(0):
        batch_norm.adapt(model, training_stream(config, dataset))
    if config.fit_head and position == Position(0):
        strength = linear_head.fit(model, dataset, config.eval_batch_size)
        print(f"Fitted the new head on the frozen backbone's features of the {dataset.num_examples(dataset.train_split)} "
              f"training images (L2 {strength:g}, chosen by {linear_head.FOLDS}-fold cross-validation).", flush=True)
    for phase in run_phases:
        if position.epoch >= phase.end:
            continue
        if not model.compiled or transfer.backbone_is_frozen(model) != phase.frozen:
            with strategy.scope():
                transfer.set_backbone_trainable(model, not phase.frozen)
                compile_model(model, config, phase.learning_rate, (phase.end - phase.start) * steps_per_epoch,
                              steps_per_epoch)
        # The epoch a checkpoint stopped in, finished alone; then the rest of the phase.
        segments = [(position.epoch + 1, position.step)] * bool(position.step) + [(phase.end, 0)]
        for end, skipped_steps in segments:
            recorder.start(position)
            with distribution.multi_worker_fit(model), weight_averaging.trained_weights_kept(model), _progress_line_ended_on_error():
                model.fit(
                    train_from(position.epoch * steps_per_epoch + position.step),
                    epochs=end,
                    initial_epoch=position.epoch,
                    steps_per_epoch=steps_per_epoch - skipped_steps,
                    validation_data=eval_data,
                    callbacks=callbacks,
                    shuffle=False,  # the pipeline shuffles
                    verbose=1 if _on_a_terminal() else 0,
                )
            if recorder.diverged:
                raise TrainingDiverged(
                    f"the training loss became {recorder.diverged} in epoch {len(recorder.history) + 1}; "
                    f"lower {{config.learning_rate}} (now {config.learning_rate}) and rerun"
                )
            position = Position(end)


@contextlib.contextmanager
def _progress_line_ended_on_error():
    """A fit stopped by an exception leaves Keras' progress bar line open: end it, so that
    what is said next starts on a line of its own."""
    try:
        yield
    except BaseException:
        print(flush=True)
        raise


def _batch_stages(config, dataset, teacher):
    """What each training batch goes through after batching, in order: MixUp or CutMix, the
    teacher's scores after the labels, and the class weights as per-image weights (from the
    labels alone, as Keras' class_weight reads them)."""
    stages = [augmentation.batch_mixing(config)]
    if teacher is not None:
        stages.append(distillation.teacher_targets(teacher))
    if config.class_weight == "balanced":
        weights = class_balance.balanced_weights(datasets.class_counts(dataset, dataset.train_split))
        by_class = tf.constant([weights.get(label, 0.0) for label in range(dataset.num_classes)], tf.float32)
        stages.append(lambda images, targets: (
            images, targets, tf.gather(by_class, tf.argmax(targets[..., :dataset.num_classes], axis=-1))))
    return [stage for stage in stages if stage]


def training_stream(config, dataset, **stages):
    """input_pipeline.train_images as `config` sets it (its seed, batch and crops); `stages`:
    start_batch, augment_image, batch_stages."""
    return input_pipeline.train_images(dataset, config.resolution, config.batch_size, config.seed,
                                       (config.crop_area_min, 1.0), **stages)


def compile_model(model, config, learning_rate, total_steps, steps_per_epoch):
    model.compile(
        optimizer=_optimizer(config, learning_rate, total_steps, steps_per_epoch),
        # Labels are one-hot, or soft after MixUp and CutMix (mobilenet.data.augmentation),
        # followed by a teacher's scores when there is one (mobilenet.training.distillation).
        loss=objective.ClassificationLoss(config.label_smoothing, config.distillation_weight,
                                             config.distillation_temperature),
        metrics=[objective.TopKAccuracy(1, name="top1"), objective.TopKAccuracy(5, name="top5")],
    )


def _optimizer(config, learning_rate, total_steps, steps_per_epoch):
    """The optimizer, its schedule spanning `total_steps` (the phase being compiled for)."""
    warmup_steps = int(config.warmup_epochs * steps_per_epoch)
    if config.lr_schedule == "cosine":
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup_steps else learning_rate,
            decay_steps=max(total_steps - warmup_steps, 1),
            warmup_target=learning_rate if warmup_steps else None,
            warmup_steps=warmup_steps,
        )
    else:  # "exponential", the paper's: decay_rate every lr_decay_epochs
        schedule = keras.optimizers.schedules.ExponentialDecay(
            learning_rate,
            decay_steps=max(int(config.lr_decay_epochs * steps_per_epoch), 1),
            decay_rate=config.lr_decay_rate,
            staircase=True,
        )
    ema = dict(use_ema=config.ema, ema_momentum=config.ema_momentum)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=config.momentum, nesterov=True, **ema)
    return keras.optimizers.RMSprop(
        schedule, rho=config.rmsprop_rho, momentum=config.momentum, epsilon=config.rmsprop_epsilon, **ema
    )
