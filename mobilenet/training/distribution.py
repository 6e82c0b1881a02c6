"""TensorFlow distribution strategies, and what Keras 3 needs to train under them.

`make_strategy(name)` gives the strategy a config names. `multi_worker_fit(model)` is a
context manager around `model.fit` under MultiWorkerMirroredStrategy: it applies two
workarounds for keras-team/keras#20585 and undoes them when the fit ends, so nothing of
them outlives the distributed run.
"""

import contextlib

import keras
import tensorflow as tf
from keras import tree

from mobilenet.errors import ParameterError

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
# Keras versions with keras-team/keras#20585 (open in 3.15.1, the pinned version): fit
# under MultiWorkerMirroredStrategy fails before its first step. Raise the bound once a
# newer Keras is checked (tests/test_distributed.py trains two real workers).
KERAS_VERSIONS_WITH_BUG = ((3, 0), (3, 15, 1))


def make_strategy(name):
    """The tf.distribute strategy named `name` (one of STRATEGIES)."""
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
    raise ParameterError(f"{{config.strategy}} must be {', '.join(STRATEGIES[:-1])} or {STRATEGIES[-1]}, got {name!r}")


def task(strategy):
    """(task type, task id) of this process in a multi-worker cluster, or None."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """Whether this process writes the run's outputs: the chief, else worker 0."""
    if task(strategy) is None:
        return True
    task_type, task_id = task(strategy)
    has_chief = "chief" in strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)


def _keras_version():
    return tuple(int(part) for part in keras.__version__.split(".")[:3] if part.isdigit())


@contextlib.contextmanager
def multi_worker_fit(model):
    """Lets `model.fit` run under MultiWorkerMirroredStrategy on Keras versions with
    keras-team/keras#20585, which fails twice before the first step:

    * fit first averages a whole input batch across workers only to read its shapes, and
      a tuple of uint8 images and labels cannot be reduced: the local replica's batch has
      the same shapes;
    * each step's loss and metrics, scalars, are averaged "along axis 0" across workers:
      a scalar has no axis 0, and the mean over workers needs none.

    Both replacements are undone on exit. Elsewhere (another strategy, a Keras outside
    KERAS_VERSIONS_WITH_BUG) it does nothing.
    """
    low, high = KERAS_VERSIONS_WITH_BUG
    strategy = model.distribute_strategy
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or not low <= _keras_version() <= high:
        yield
        return
    from keras.src.backend.tensorflow import trainer as tf_trainer  # where Keras 3.x keeps it

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = next(batches)
                break
        data_batch = tree.map_structure(lambda value: strategy.experimental_local_results(value)[0], data_batch)
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    keras_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    model._maybe_symbolic_build = build
    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = keras_reduce
        del model._maybe_symbolic_build  # the class's own method shows through again
