"""Batch-norm moving statistics measured on data, instead of the running averages training
leaves: each trainable batch norm's mean and variance over a few training batches, with the
weights now in the model ("precise batch norm", Wu and Johnson 2021, arXiv 2105.07576).

Two users: the average of the weights (mobilenet.training.weight_averaging), whose network
needs statistics of its own, and transfer learning (config.adapt_batch_norm), where a
pretrained backbone's ImageNet statistics are replaced by this data's before the new head
learns on them (as AdaBN, Li et al. 2016).
"""

import keras
import numpy as np

BATCHES = 16  # training batches the statistics are measured over


def layers(model):
    """The batch norms whose statistics training moves: frozen ones (a frozen backbone) keep
    theirs in training mode too."""
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)
            and layer.trainable]


def variables(model):
    return [variable for layer in layers(model) for variable in (layer.moving_mean, layer.moving_variance)]


def measure(model, batches):
    """The values of `variables(model)` measured on the first BATCHES of `batches` (a
    `tf.data.Dataset` of (images, ...) training batches): the average of the batches' own
    statistics, with the weights now in the model."""
    measured = layers(model)
    momenta = [layer.momentum for layer in measured]
    sums, count = None, 0
    try:
        for layer in measured:
            layer.momentum = 0.0  # a training-mode call then leaves the batch's own statistics
        for images, *_ in batches.take(BATCHES):
            model(images, training=True)
            values = [np.array(variable, dtype=np.float64) for variable in variables(model)]
            sums = values if sums is None else [total + value for total, value in zip(sums, values)]
            count += 1
    finally:
        for layer, momentum in zip(measured, momenta):
            layer.momentum = momentum
    return [(total / count).astype(np.float32) for total in sums]


def assign(model, values):
    for variable, value in zip(variables(model), values):
        variable.assign(value)


def adapt(model, batches):
    """Replaces every trainable batch norm's moving statistics by those measured on `batches`."""
    assign(model, measure(model, batches))
