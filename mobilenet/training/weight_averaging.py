"""The exponential moving average of the weights (config.ema): what validation, best.keras
and final.keras (and so export) hold when it is on.

Keras' optimizers keep the average of the trainable weights (`use_ema=True`), but not of the
batch norms' moving statistics, which stay those of the trained weights. The averaged weights
score less with those statistics than with their own (docs/BENCHMARKS.md, ablation), so
while the averaged weights are in the model, each batch norm holds the statistics of the
averaged network itself, measured on a few training batches (mobilenet.training.batch_norm,
the "precise batch norm" of Wu and Johnson 2021). The
trained weights and their statistics come back after, so training goes on from them, and a
checkpoint (the trained weights, with the averages in its optimizer) resumes both.
"""

import contextlib

import keras
import numpy as np

from mobilenet.training import batch_norm


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
        batch_norm.BATCHES. (A dataset iterated again would reshuffle.)
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
                self._measured = (reached, batch_norm.measure(self.model, self.make_batches()))
            batch_norm.assign(self.model, self._measured[1])
            yield
        finally:
            for variable, value in zip(self.model.variables, trained):
                variable.assign(value)


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
