"""Training: a config and a work directory in, a trained model and its records out.

`train_and_evaluate(config, workdir)` leaves in the work directory:

  config.json      the resolved config (a rerun must match it to resume)
  labels.txt       class names, one a line, in label order
  history.csv      one row per finished epoch: losses, top-1/top-5, learning rate, time
  tensorboard/     TensorBoard logs
  checkpoints/     the last finished epoch, model and optimizer (epoch_NNNN.keras)
  best.keras       the model of the best validation top-1
  final.keras      the model after the last epoch

Every file is written under a temporary name and renamed, and a rerun of the same
command resumes from the last finished epoch, so an interrupted run loses at most the
epoch in progress.
"""

import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import time

import keras
import tensorflow as tf
from keras import tree
from keras.src.backend.tensorflow import trainer as tf_trainer

from mobilenet import files, input_pipeline
from mobilenet import model as model_lib
from mobilenet.cli import one_line

CHECKPOINT_PATTERN = re.compile(r"^epoch_(\d{4})\.keras$")
# A rerun must agree with the run it resumes on these config fields.
RUN_IDENTITY = ("alpha", "resolution", "variant", "dataset", "train_split", "eval_split", "init_from")
BACKBONE_OUTPUT = "conv_pw_13_relu"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def default_workdir(config):
    return os.path.join("runs", f"mobilenet_v1_{config.alpha:.2f}_{config.resolution}")


def build_model(config, num_classes):
    return model_lib.mobilenet_v1(
        config.alpha,
        config.resolution,
        num_classes=num_classes,
        variant=config.variant,
        dropout_rate=config.dropout_rate,
        weight_decay=config.weight_decay,
        batch_norm_momentum=config.batch_norm_momentum,
        batch_norm_epsilon=config.batch_norm_epsilon,
    )


def train_and_evaluate(config, workdir):
    """Trains (or resumes training) as `config` says; returns the history as a list of dicts."""
    try:
        return _train_and_evaluate(config, workdir)
    except OSError as error:  # a full disk, a file system gone read-only: nothing half-written is left
        raise ValueError(
            f"{error.strerror or one_line(error)}: {error.filename or workdir}; the last finished epoch "
            "is kept: free space (or choose another --workdir) and rerun to resume"
        ) from None


def _train_and_evaluate(config, workdir):
    _validate(config)
    # The config decides, also over a policy an earlier run in this process set.
    keras.mixed_precision.set_global_policy(config.mixed_precision or "float32")
    strategy = make_strategy(config.strategy)
    dataset = input_pipeline.load_dataset(
        config.dataset, config.data_dir or None, config.train_split, config.eval_split
    )
    if dataset.name.startswith(input_pipeline.FOLDER_PREFIX):
        for split in (dataset.train_split, dataset.eval_split):
            input_pipeline.check_images(dataset, split)
    # Only the chief writes into the work directory; other workers write to a throwaway
    # one (TF's multi-worker guide), but all resume from the work directory, which
    # must then be on storage every worker reads (NFS, GCS).
    chief = _is_chief(strategy)
    run_files = _run_files(config, dataset)
    _check_workdir(workdir, run_files["config.json"], writable=chief)
    steps_per_epoch = dataset.num_examples(dataset.train_split) // config.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"--batch_size {config.batch_size} is larger than the {dataset.train_split} split "
            f"({dataset.num_examples(dataset.train_split)} examples)"
        )
    one_hot = lambda images, labels: (images, tf.one_hot(labels, dataset.num_classes))
    train_data = input_pipeline.train_images(
        dataset, config.resolution, config.batch_size, config.seed, (config.crop_area_min, 1.0)
    ).map(one_hot)
    eval_data = input_pipeline.eval_images(dataset, config.resolution, config.eval_batch_size).map(one_hot)

    history = _read_history(workdir)
    with strategy.scope():
        model, initial_epoch = _restore_checkpoint(workdir)
        if model is None:
            keras.utils.set_random_seed(config.seed)
            model = build_model(config, dataset.num_classes)
            if config.init_from:
                load_backbone_weights(model, config.init_from, config)
    history = [row for row in history if row["epoch"] <= initial_epoch]
    if initial_epoch:
        print(f"Resuming {workdir} after epoch {initial_epoch} of {config.epochs}.")
    # Written only now that the run has all it needs: a run that fails to start leaves no
    # config.json behind to claim the work directory.
    output_dir = workdir if chief else tempfile.mkdtemp(prefix="mobilenet-worker-")
    if not chief:
        print(f"Not the chief: outputs go to {output_dir}, deleted at the end; {workdir} is the chief's.")
    for name, content in run_files.items():
        files.write_atomically(os.path.join(output_dir, name), content)

    recorder = EpochRecorder(output_dir, history)
    callbacks = [recorder, keras.callbacks.TensorBoard(os.path.join(output_dir, "tensorboard"), write_graph=False)]
    # Phase 1 (transfer learning only): the new head trains on a frozen backbone.
    frozen_end = min(config.frozen_epochs, config.epochs)
    phases = [(0, frozen_end, True), (frozen_end, config.epochs, False)]
    for phase_start, phase_end, frozen in phases:
        if initial_epoch >= phase_end:
            continue
        if not model.compiled or _backbone_is_frozen(model) != frozen:
            with strategy.scope():
                _set_backbone_trainable(model, not frozen)
                learning_rate = config.frozen_learning_rate if frozen else config.learning_rate
                compile_model(model, config, learning_rate, (phase_end - phase_start) * steps_per_epoch, steps_per_epoch)
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            _fit_under_multi_worker(model)
        model.fit(
            train_data,
            epochs=phase_end,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_data=eval_data,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles
        )
        if recorder.diverged:
            raise TrainingDiverged(
                f"the training loss became {recorder.diverged} in epoch {len(recorder.history) + 1}; "
                f"lower --config.learning_rate (now {config.learning_rate}) and rerun"
            )
        initial_epoch = phase_end
    files.save_model_atomically(model, os.path.join(output_dir, "final.keras"))
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and resolver.task_type:
        # Every worker says what it ended with: the weights must be the same everywhere.
        digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()[:16]
        print(f"{resolver.task_type} {resolver.task_id} finished with weights sha256 {digest}")
    if not chief:
        shutil.rmtree(output_dir, ignore_errors=True)
    return recorder.history


def _fit_under_multi_worker(model):
    """Works around Keras 3's fit under MultiWorkerMirroredStrategy (keras-team/keras#20585,
    open in Keras 3.15), which fails twice before the first step:

    * fit first averages a whole input batch across workers only to read its shapes, and
      a tuple of uint8 images and labels cannot be reduced: the local replica's batch has
      the same shapes;
    * each step's loss and metrics, scalars, are averaged "along axis 0" across workers:
      a scalar has no axis 0, and the mean over workers needs none.
    """

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = next(batches)
                break
        strategy = model.distribute_strategy
        data_batch = tree.map_structure(lambda value: strategy.experimental_local_results(value)[0], data_batch)
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build
    keras_reduce = tf_trainer.reduce_per_replica
    if getattr(keras_reduce, "scalar_safe", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    reduce_per_replica.scalar_safe = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def make_strategy(name):
    """The tf.distribute strategy named by config.strategy."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # Every GPU; on a machine without one, every logical CPU device (a single one
        # unless tf.config.set_logical_device_configuration made more, as the tests do).
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy(None if gpus else [cpu.name for cpu in tf.config.list_logical_devices("CPU")])
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()  # the cluster comes from TF_CONFIG
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"--config.strategy must be default, mirrored, multi_worker or tpu, got {name!r}")


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker" and resolver.task_id == 0)


def compile_model(model, config, learning_rate, total_steps, steps_per_epoch):
    model.compile(
        optimizer=_optimizer(config, learning_rate, total_steps, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="top1"),
            keras.metrics.TopKCategoricalAccuracy(5, name="top5"),
        ],
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
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=config.momentum, nesterov=True)
    return keras.optimizers.RMSprop(
        schedule, rho=config.rmsprop_rho, momentum=config.momentum, epsilon=config.rmsprop_epsilon
    )


def load_backbone_weights(model, init_from, config):
    """Copies every backbone layer's weights from `init_from` into `model`.

    `init_from` is "imagenet" (Keras' ImageNet weights, downloaded by Keras), a Keras
    weights file `.h5` in keras.applications' layout (such as
    mobilenet_2_5_224_tf_no_top.h5), or a `.keras` model of this project.
    """
    source = _load_backbone_source(init_from, config)
    try:
        for layer in _backbone_layers(model):
            layer.set_weights(source.get_layer(layer.name).get_weights())
    except ValueError as error:
        raise ValueError(f"--init_from {init_from} does not fit MobileNet V1 alpha {config.alpha}: {one_line(error)}") from None


def _load_backbone_source(init_from, config):
    if init_from == "imagenet":
        try:
            return keras.applications.MobileNet(
                input_shape=(config.resolution, config.resolution, 3),
                alpha=config.alpha,
                include_top=False,
                weights="imagenet",
            )
        except Exception as error:  # no network, or no ImageNet weights for this alpha
            raise ValueError(
                f"--init_from imagenet: Keras' ImageNet weights for alpha {config.alpha} could not be "
                f"loaded ({one_line(error)}); they exist for alpha 0.25, 0.5, 0.75 and 1.0 and need "
                "network; else pass a weights file: --init_from PATH.h5"
            ) from None
    if not os.path.isfile(init_from) or not init_from.endswith((".h5", ".keras")):
        raise ValueError(f"--init_from {init_from}: no such .h5 or .keras file (or give 'imagenet')")
    if init_from.endswith(".keras"):
        return model_lib.load_model(init_from, flag="--init_from")
    try:
        source = model_lib.mobilenet_v1(config.alpha, config.resolution, include_top=False)
        source.load_weights(init_from)
        return source
    except Exception as error:
        raise ValueError(f"--init_from {init_from} does not fit MobileNet V1 alpha {config.alpha}: {one_line(error)}") from None


def _backbone_layers(model):
    names = [layer.name for layer in model.layers]
    return [layer for layer in model.layers[: names.index(BACKBONE_OUTPUT) + 1] if layer.weights]


def _set_backbone_trainable(model, trainable):
    for layer in _backbone_layers(model):
        layer.trainable = trainable


def _backbone_is_frozen(model):
    return not _backbone_layers(model)[0].trainable


class EpochRecorder(keras.callbacks.Callback):
    """Writes the history row, best.keras and the checkpoint after every epoch.

    The order matters for resuming: the checkpoint comes last, so that a run killed
    while writing redoes the epoch, and rows of epochs after the checkpoint are dropped.
    It also stops training when the loss becomes NaN or infinite.
    """

    def __init__(self, workdir, history):
        super().__init__()
        self.workdir = workdir
        self.history = history
        self.diverged = None
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = float(loss)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged is not None:
            return
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row["seconds"] = time.perf_counter() - self._epoch_start
        best = max((r.get("val_top1", -1) for r in self.history), default=-1)
        self.history.append(row)
        _write_history(self.workdir, self.history)
        if row.get("val_top1", -1) > best:
            files.save_model_atomically(self.model, os.path.join(self.workdir, "best.keras"))
        checkpoint_dir = os.path.join(self.workdir, "checkpoints")
        os.makedirs(checkpoint_dir, exist_ok=True)
        files.save_model_atomically(self.model, os.path.join(checkpoint_dir, f"epoch_{epoch + 1:04d}.keras"))
        for name in os.listdir(checkpoint_dir):
            match = CHECKPOINT_PATTERN.match(name)
            if match and int(match.group(1)) != epoch + 1:
                os.remove(os.path.join(checkpoint_dir, name))


def _restore_checkpoint(workdir):
    """The model of the last finished epoch and that epoch's number, or (None, 0)."""
    checkpoint_dir = os.path.join(workdir, "checkpoints")
    epochs = sorted(
        int(match.group(1))
        for match in map(CHECKPOINT_PATTERN.match, os.listdir(checkpoint_dir) if os.path.isdir(checkpoint_dir) else [])
        if match
    )
    if not epochs:
        return None, 0
    path = os.path.join(checkpoint_dir, f"epoch_{epochs[-1]:04d}.keras")
    return keras.saving.load_model(path, safe_mode=True), epochs[-1]


def _history_path(workdir):
    return os.path.join(workdir, "history.csv")


def _read_history(workdir):
    if not os.path.exists(_history_path(workdir)):
        return []
    with open(_history_path(workdir), newline="") as file:
        return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in csv.DictReader(file)]


def _write_history(workdir, history):
    columns = list(dict.fromkeys(key for row in history for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    writer.writerows(history)
    files.write_atomically(_history_path(workdir), text.getvalue())


def _run_files(config, dataset):
    """{name: content} of config.json (the resolved config) and labels.txt."""
    resolved = config.to_dict()
    resolved.update(train_split=dataset.train_split, eval_split=dataset.eval_split)
    return {
        "config.json": json.dumps(resolved, indent=2, sort_keys=True) + "\n",
        "labels.txt": "".join(f"{name}\n" for name in dataset.class_names),
    }


def _check_workdir(workdir, config_json, writable):
    """Refuses a work directory of another run, or (if `writable`) one that cannot be written."""
    if writable:
        try:
            os.makedirs(workdir, exist_ok=True)
            tempfile.NamedTemporaryFile(dir=workdir).close()
            for directory in (workdir, os.path.join(workdir, "checkpoints")):
                files.remove_partial_files(directory)  # left by a run that was killed
        except OSError as error:
            raise ValueError(f"--workdir {workdir} cannot be written: {error.strerror}") from None
    config_path = os.path.join(workdir, "config.json")
    if not os.path.exists(config_path):
        return
    with open(config_path) as file:
        previous = json.load(file)
    resolved = json.loads(config_json)
    changed = [
        f"{key} {previous.get(key)!r} -> {resolved[key]!r}" for key in RUN_IDENTITY if previous.get(key) != resolved[key]
    ]
    if changed:
        raise ValueError(
            f"--workdir {workdir} holds another run ({', '.join(changed)}): choose another "
            "--workdir, or delete it to start over"
        )


def _validate(config):
    checks = [
        (config.epochs >= 1, f"--epochs must be >= 1, got {config.epochs}"),
        (config.batch_size >= 1, f"--batch_size must be >= 1, got {config.batch_size}"),
        (config.eval_batch_size >= 1, f"--config.eval_batch_size must be >= 1, got {config.eval_batch_size}"),
        (config.learning_rate > 0, f"--config.learning_rate must be > 0, got {config.learning_rate}"),
        (0 < config.crop_area_min <= 1, f"--config.crop_area_min must be in (0, 1], got {config.crop_area_min}"),
        (config.frozen_learning_rate > 0,
         f"--config.frozen_learning_rate must be > 0, got {config.frozen_learning_rate}"),
        (config.frozen_epochs >= 0, f"--config.frozen_epochs must be >= 0, got {config.frozen_epochs}"),
        (config.optimizer in ("sgd", "rmsprop"), f"--config.optimizer must be sgd or rmsprop, got {config.optimizer!r}"),
        (config.lr_schedule in ("cosine", "exponential"),
         f"--config.lr_schedule must be cosine or exponential, got {config.lr_schedule!r}"),
        (config.mixed_precision in ("", "mixed_float16", "mixed_bfloat16"),
         f"--config.mixed_precision must be '', mixed_float16 or mixed_bfloat16, got {config.mixed_precision!r}"),
        (not config.frozen_epochs or config.init_from,
         "--config.frozen_epochs needs --init_from: there is no pretrained backbone to freeze"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    # The builder's own checks (alpha, resolution, variant) run before any data is read.
    model_lib.validate_arguments(config.alpha, config.resolution, variant=config.variant)
