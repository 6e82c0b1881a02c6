"""Transfer learning: a pretrained MobileNet backbone loaded into a new model, frozen or not."""

import os

import keras

from mobilenet.model import network
from mobilenet.errors import ParameterError, one_line

BACKBONE_OUTPUT = "conv_pw_13_relu"


def load_backbone_weights(model, init_from, alpha, resolution):
    """Copies every backbone layer's weights from `init_from` into `model`.

    `init_from` is "imagenet" (Keras' ImageNet weights, downloaded by Keras), a Keras
    weights file `.h5` in keras.applications' layout (such as
    mobilenet_2_5_224_tf_no_top.h5), or a `.keras` model of this project.
    """
    source = _load_backbone_source(init_from, alpha, resolution)
    try:
        for layer in backbone_layers(model):
            layer.set_weights(source.get_layer(layer.name).get_weights())
    except ValueError as error:
        raise ParameterError(f"{{init_from}} {init_from} does not fit MobileNet V1 alpha {alpha}: {one_line(error)}") from None


def _load_backbone_source(init_from, alpha, resolution):
    if init_from == "imagenet":
        try:
            return keras.applications.MobileNet(
                input_shape=(resolution, resolution, 3), alpha=alpha, include_top=False, weights="imagenet"
            )
        except Exception as error:  # no network, or no ImageNet weights for this alpha
            raise ParameterError(
                f"{{init_from}} imagenet: Keras' ImageNet weights for alpha {alpha} could not be "
                f"loaded ({one_line(error)}); they exist for alpha 0.25, 0.5, 0.75 and 1.0 and need "
                "network; else pass a weights file: {init_from} PATH.h5"
            ) from None
    if not os.path.isfile(init_from) or not init_from.endswith((".h5", ".keras")):
        raise ParameterError(f"{{init_from}} {init_from}: no such .h5 or .keras file (or give 'imagenet')")
    if init_from.endswith(".keras"):
        return network.load_model(init_from, parameter="init_from")
    try:
        source = network.mobilenet_v1(alpha, resolution, include_top=False)
        source.load_weights(init_from)
        return source
    except Exception as error:
        raise ParameterError(f"{{init_from}} {init_from} does not fit MobileNet V1 alpha {alpha}: {one_line(error)}") from None


def backbone_layers(model):
    """The layers with weights up to the backbone's last feature map."""
    names = [layer.name for layer in model.layers]
    return [layer for layer in model.layers[: names.index(BACKBONE_OUTPUT) + 1] if layer.weights]


def set_backbone_trainable(model, trainable):
    for layer in backbone_layers(model):
        layer.trainable = trainable


def backbone_is_frozen(model):
    return not backbone_layers(model)[0].trainable
