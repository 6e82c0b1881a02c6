"""The exponential moving average of the weights (config.ema): what validation, best.keras
and final.keras (and so export) hold when it is on.

Keras' optimizers keep the average of the trainable weights (`use_ema=True`), but not of the
batch norms' moving statistics, which stay those of the trained weights. The averaged weights
score less with those statistics than with their own (docs/BENCHMARKS.md, ablation), so
while the averaged weights are in the model, each batch norm holds the statistics of the
averaged network itself, measured on STATISTICS_BATCHES training batches: the "precise batch
norm" of Wu and Johnson, "Rethinking 'Batch' in BatchNorm" (2021, arXiv 2105.07576). The
trained weights and their statistics come back after, so training goes on from them, and a
checkpoint (the trained weights, with the averages in its optimizer) resumes both.
"""

import contextlib

import keras
import numpy as np

STATISTICS_BATCHES = 16


def _optimizer(model):
    return getattr(model.optimizer, "inner_optimizer", model.optimizer)  # under a LossScaleOptimizer


def uses_ema(model):
    return bool(getattr(_optimizer(model), "use_ema", False))


class AveragedWeights(keras.callbacks.Callback):
    """`with averaged.swapped_in():` puts the averaged weights (and their batch-norm
    statistics) in the model while the block runs; as a callback of `fit`, validation sees
    them. With no average kept (config.ema off) both leave the model as it is.

    Args:
      model: the compiled model.
      make_batches: a function returning a `tf.data.Dataset` of (images, labels) training
        batches, the same ones each call; the statistics come from its first
        STATISTICS_BATCHES. (A dataset iterated again would reshuffle.)
    """

    def __init__(self, model, make_batches):
        super().__init__()
        self.set_model(model)
        self.make_batches = make_batches
        self._measured = (None, None)  # (what the averages were measured after, their statistics)
        self._exit = None

    def on_test_begin(self, logs=None):
        self._exit = contextlib.ExitStack()
        self._exit.enter_context(self.swapped_in())

    def on_test_end(self, logs=None):
        self._exit.close()

    @contextlib.contextmanager
    def swapped_in(self):
        if not uses_ema(self.model):
            yield
            return
        optimizer = _optimizer(self.model)
        weights = optimizer._trainable_variables  # what the optimizer averages, in its order
        statistics = _statistics_variables(self.model)
        # All of the model's variables come back after, the dropout's random state too (the
        # statistics' training-mode calls draw masks): a resumed run must draw what an
        # uninterrupted one would.
        trained = [np.array(variable) for variable in self.model.variables]
        for variable, average in zip(weights, optimizer._model_variables_moving_average):
            variable.assign(average)
        try:
            # The averages change only with a training step: measured once per step reached.
            reached = (id(optimizer), int(optimizer.iterations))
            if self._measured[0] != reached:
                self._measured = (reached, self._measure_statistics())
            for variable, value in zip(statistics, self._measured[1]):
                variable.assign(value)
            yield
        finally:
            for variable, value in zip(self.model.variables, trained):
                variable.assign(value)

    def _measure_statistics(self):
        """Each trainable batch norm's mean and variance over the batches, with the weights
        now in the model: the average of the batches' own statistics."""
        layers = _batch_norms(self.model)
        momenta = [layer.momentum for layer in layers]
        sums, count = None, 0
        try:
            for layer in layers:
                layer.momentum = 0.0  # a training-mode call then leaves the batch's own statistics
            for images, _ in self.make_batches().take(STATISTICS_BATCHES):
                self.model(images, training=True)
                values = [np.array(variable, dtype=np.float64) for variable in _statistics_variables(self.model)]
                sums = values if sums is None else [total + value for total, value in zip(sums, values)]
                count += 1
        finally:
            for layer, momentum in zip(layers, momenta):
                layer.momentum = momentum
        return [(total / count).astype(np.float32) for total in sums]


def _batch_norms(model):
    # Frozen ones (a frozen backbone) keep their statistics in training mode too.
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)
            and layer.trainable]


def _statistics_variables(model):
    return [variable for layer in _batch_norms(model) for variable in (layer.moving_mean, layer.moving_variance)]


@contextlib.contextmanager
def trained_weights_kept(model):
    """Keras ends every fit by writing the averages over the weights (use_ema). A run here is
    several fits (a resumed epoch alone, then the rest), and training must go on from the
    trained weights: the optimizer skips that step while the block runs (the averages are
    used where they are saved, through `AveragedWeights`)."""
    if not uses_ema(model):
        yield
        return
    optimizer = _optimizer(model)
    optimizer.finalize_variable_values = lambda variables: None
    try:
        yield
    finally:
        del optimizer.finalize_variable_values
