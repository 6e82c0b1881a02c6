"""MobileNet V1 (Howard et al. 2017, arXiv:1704.04861) in the Keras functional API.

One builder, `mobilenet_v1`, makes the network of the paper's Table 1 for any width
multiplier α and input resolution ρ, plus the two ablations of Tables 4 and 5.
Layer names are those of `keras.applications.MobileNet`, so Keras' ImageNet weights
load into it unchanged.
"""

import numbers
import os
import zipfile

import keras
from keras import layers

from mobilenet import names
from mobilenet.model import preprocessing
from mobilenet.errors import ParameterError, one_line

# Table 1 after the first full convolution: (pointwise filters, depthwise stride) of the
# 13 depthwise-separable blocks, numbered 1..13 as in keras.applications.
SEPARABLE_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)
FIRST_CONV_FILTERS = 32
# Table 5's "shallow" MobileNet drops the five 14x14x512 separable blocks.
SHALLOW_REMOVED_BLOCKS = frozenset({7, 8, 9, 10, 11})
VARIANTS = ("standard", "shallow", "full_conv")
MIN_RESOLUTION = 32  # five stride-2 layers bring 32 pixels down to a 1x1 feature map


@keras.saving.register_keras_serializable(package="mobilenet")
class FusedBatchNormalization(layers.BatchNormalization):
    """BatchNormalization that trains with TensorFlow's fused batch-norm kernel.

    Keras 3's TensorFlow backend composes batch norm from separate moments, subtract,
    multiply and add ops, and their gradients; on a CPU that made MobileNet train slower
    than tf_keras, which calls the single fused kernel, forward and backward (what it is
    worth on the machine at hand: docs/BENCHMARKS.md, training speed).
    Inference, frozen layers, other Keras backends and anything unusual take the stock
    Keras path, so the exported graph, the weights and the saved config are those of a
    plain BatchNormalization.
    """

    def add_weight(self, *args, **kwargs):
        if kwargs.get("name") in ("moving_mean", "moving_variance"):
            # Under a distribution strategy every replica's update is averaged over all
            # replicas, so the statistics stay the same on every worker (Keras' "none"
            # would leave each worker with those of its own shard of the data).
            kwargs["aggregation"] = "mean"
        return super().add_weight(*args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        fusable = (
            keras.backend.backend() == "tensorflow"
            and training
            and self.trainable
            and mask is None
            and not self.renorm
            and not self.synchronized
            and self.center
            and self.scale
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
        )
        if not fusable:
            return super().call(inputs, training=training, mask=mask)
        # Imported here so that the model also builds on Keras' other backends (JAX runs the
        # GPU benchmark where TensorFlow cannot be installed).
        import tensorflow as tf

        outputs, moving_mean, moving_variance = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            tf.cast(self.gamma.value, tf.float32),
            tf.cast(self.beta.value, tf.float32),
            mean=tf.cast(self.moving_mean.value, tf.float32),
            variance=tf.cast(self.moving_variance.value, tf.float32),
            epsilon=self.epsilon,
            is_training=True,
            # With a factor below 1 the kernel returns the updated moving averages.
            exponential_avg_factor=1.0 - self.momentum,
        )
        self.moving_mean.assign(tf.cast(moving_mean, self.moving_mean.dtype))
        self.moving_variance.assign(tf.cast(moving_variance, self.moving_variance.dtype))
        return outputs


def mobilenet_v1(
    alpha=1.0,
    resolution=224,
    num_classes=1000,
    include_top=True,
    variant="standard",
    dropout_rate=1e-3,
    weight_decay=0.0,
    batch_norm_momentum=0.99,
    batch_norm_epsilon=1e-3,
    include_preprocessing=True,
    name=None,
):
    """Builds MobileNet V1 as a `keras.Model`.

    Args:
      alpha: width multiplier α; every layer gets `int(filters * alpha)` channels, as in
        keras.applications. Any α > 0 that leaves the first layer (32 filters) at least
        one channel; the paper's values are 1.0, 0.75, 0.5 and 0.25.
      resolution: input side ρ in pixels, an integer >= 32; the paper's values are 224,
        192, 160 and 128.
      num_classes: size of the classifier, >= 1.
      include_top: whether to add global average pooling, dropout, the 1x1-conv
        classifier and softmax. Without it the model returns the last feature map
        (ρ/32 x ρ/32 x 1024α), a backbone for transfer learning.
      variant: "standard" (Table 1); "shallow", Table 5's network without the five
        14x14x512 separable blocks; or "full_conv", Table 4's network with a standard
        3x3 convolution in place of every depthwise-separable block.
      dropout_rate: dropout before the classifier.
      weight_decay: L2 penalty on full and pointwise convolution kernels and on the
        classifier, as TF-Slim's `l2_regularizer(weight_decay)` (that is
        `weight_decay * sum(w**2) / 2`); depthwise filters get none, following the paper
        (§3.2: they have so few parameters).
      batch_norm_momentum: moving-average momentum of batch normalization.
      batch_norm_epsilon: epsilon of batch normalization.
      include_preprocessing: whether the model takes raw RGB pixels in [0, 255] (of any
        numeric dtype) and scales them to [-1, 1] itself. On by default so that
        training, evaluation and the exported `.tflite` all take the same raw pixels.
      name: model name; defaults to `mobilenet_v1_{alpha:.2f}_{resolution}[_{variant}]`.

    Returns:
      A `keras.Model` mapping a `(batch, ρ, ρ, 3)` image batch to class probabilities
      `(batch, num_classes)`, or to the last feature map when `include_top=False`.

    Raises:
      ValueError: an argument is outside its valid range; the message says which.
    """
    validate_arguments(alpha, resolution, num_classes, variant)
    regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None

    def conv_bn_relu(x, filters, kernel_size, strides, layer_name, depthwise=False):
        if depthwise:
            x = layers.DepthwiseConv2D(
                kernel_size, strides=strides, padding="same", use_bias=False, name=layer_name
            )(x)
        else:
            x = layers.Conv2D(
                filters,
                kernel_size,
                strides=strides,
                padding="same",
                use_bias=False,
                kernel_regularizer=regularizer,
                name=layer_name,
            )(x)
        x = FusedBatchNormalization(
            momentum=batch_norm_momentum, epsilon=batch_norm_epsilon, name=f"{layer_name}_bn"
        )(x)
        return layers.ReLU(6.0, name=f"{layer_name}_relu")(x)

    inputs = keras.Input(shape=(resolution, resolution, 3), name="image")
    x = inputs
    if include_preprocessing:
        x = layers.Rescaling(preprocessing.SCALE, offset=preprocessing.OFFSET, name="rescale_to_unit_range")(x)
    x = conv_bn_relu(x, int(FIRST_CONV_FILTERS * alpha), 3, 2, "conv1")
    for block_id, (filters, strides) in enumerate(SEPARABLE_BLOCKS, start=1):
        if variant == "shallow" and block_id in SHALLOW_REMOVED_BLOCKS:
            continue
        filters = int(filters * alpha)
        if variant == "full_conv":
            x = conv_bn_relu(x, filters, 3, strides, f"conv_{block_id}")
        else:
            x = conv_bn_relu(x, None, 3, strides, f"conv_dw_{block_id}", depthwise=True)
            x = conv_bn_relu(x, filters, 1, 1, f"conv_pw_{block_id}")

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling")(x)
        x = layers.Dropout(dropout_rate, name="dropout")(x)
        x = layers.Conv2D(
            num_classes, 1, padding="same", kernel_regularizer=regularizer, name="conv_preds"
        )(x)
        x = layers.Reshape((num_classes,), name="reshape_2")(x)
        # float32 even under a mixed-precision policy: softmax and the loss need the range.
        x = layers.Activation("softmax", dtype="float32", name="predictions")(x)

    if name is None:
        name = names.model_name(alpha, resolution, variant)
    return keras.Model(inputs, x, name=name)


def validate_arguments(alpha, resolution, num_classes=1, variant="standard"):
    """Raises ParameterError, naming the argument and its valid range, for a bad one."""
    if not _is_real(alpha) or not alpha > 0:
        raise ParameterError(f"{{alpha}} must be a number > 0 (the paper uses 0.25-1.0), got {alpha!r}")
    if int(FIRST_CONV_FILTERS * alpha) < 1:
        raise ParameterError(
            f"{{alpha}} {alpha} leaves the first layer with 0 channels: {{alpha}} must be "
            f">= {1 / FIRST_CONV_FILTERS} so that every layer keeps at least one channel"
        )
    if not _is_integer(resolution) or resolution < MIN_RESOLUTION:
        raise ParameterError(
            f"{{resolution}} must be an integer >= {MIN_RESOLUTION} (the paper uses 224, 192, "
            f"160 or 128), got {resolution!r}"
        )
    if not _is_integer(num_classes) or num_classes < 1:
        raise ParameterError(f"{{num_classes}} must be an integer >= 1, got {num_classes!r}")
    if variant not in VARIANTS:
        raise ParameterError(f"{{variant}} must be one of {', '.join(VARIANTS)}, got {variant!r}")


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def with_resolution(model, resolution):
    """`model` taking `resolution`-pixel inputs, with the same weights.

    Every weight of MobileNet is independent of the input size (convolutions, then a
    global average pool), so a model trained at one ρ runs at any other; its accuracy
    there is whatever evaluation measures.
    """
    validate_arguments(1.0, resolution)
    if model.input.shape[1] == resolution:
        return model
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, resolution, resolution, 3]
    config["name"] = f"{model.name}_at_{resolution}"
    resized = model.__class__.from_config(config)
    resized.set_weights(model.get_weights())
    return resized


def load_model(path, parameter="model", architecture="mobilenet_v1"):
    """A `.keras` image classifier loaded in Keras' safe mode (no code from the file runs):
    a MobileNet V1 saved by this project, or with `architecture` None any model taking
    (batch, H, W, 3) images. ParameterError, naming `parameter` (where the caller got `path`
    from), for anything else.

    `mobilenet.load_model(path)` is this: importing this module registers the project's
    layer (FusedBatchNormalization), which `keras.saving.load_model` alone cannot find.

    >>> model = mobilenet.load_model("runs/mobilenet_v1_0.50_160/best.keras")
    """
    name = "{" + parameter + "}"
    if not os.path.isfile(path):
        raise ParameterError(f"{name} {path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ParameterError(f"{name} {path} is not a .keras file (a .keras file is a zip archive)")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:
        raise ParameterError(f"{name} {path} is not a Keras model of this project: {one_line(error)}") from None
    if len(model.input.shape) != 4 or model.input.shape[-1] != 3:
        raise ParameterError(f"{name} {path} is a Keras model ({model.name!r}) but does not take RGB images")
    if architecture and not model.name.startswith(architecture):
        raise ParameterError(f"{name} {path} is a Keras model ({model.name!r}) but not a MobileNet V1 made by train.py")
    return model
