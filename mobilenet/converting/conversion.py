"""Keras model -> `.tflite` flatbuffer: float32, float16, dynamic-range or full int8.

The int8 file is what a phone should run: integer kernels throughout, uint8 raw RGB
pixels in (what Android camera pipelines and MediaPipe Tasks feed; they reject int8
inputs), and uint8 or float32 class scores out. On request its input is float32 raw
pixels instead (MediaPipe takes those too). Either way every op of it runs inside LiteRT's
XNNPACK delegate: the converter gives float ends, and mobilenet.flatbuffer.graph_surgery
puts the uint8 input and the softmax there, in forms XNNPACK takes. Every file carries
TFLite metadata (name, normalisation, labels, and the model's preprocessing), so
MediaPipe's ImageClassifier returns class names and every reader crops as the model wants.
"""

import contextlib
import io
import warnings

import keras
import numpy as np
import tensorflow as tf

from mobilenet.errors import ParameterError
from mobilenet.flatbuffer import graph, graph_surgery, metadata
from mobilenet.model import preprocessing

QUANTIZATIONS = ("int8", "float16", "dynamic", "float32")
OUTPUT_TYPES = ("uint8", "float32")
INPUT_TYPES = ("uint8", "float32")


def convert(model, quantization="int8", calibration_images=None, output_type=None, input_type=None):
    """Converts `model` (taking raw pixels) to TFLite flatbuffer bytes with batch size 1.

    Args:
      model: a Keras image classifier whose input is raw RGB pixels in [0, 255] (or any
        part of one, such as the network up to a block, as latency by block converts).
      quantization: "int8" (full-integer post-training quantization, per-channel
        weights, calibrated on `calibration_images`), "float16" (half-precision
        weights), "dynamic" (int8 weights, float activations) or "float32".
      calibration_images: for int8, an iterable of uint8 (ρ, ρ, 3) images, typically
        training images through the eval preprocessing.
      output_type: int8 only, the type of the output scores: "uint8" (scale 1/256, like
        Google's published models) or "float32". None: uint8 for a model ending in a
        softmax, float32 for one that does not (its outputs have no fixed range).
      input_type: int8 only, the type of the input pixels: "uint8" (the default) or
        "float32" (both raw pixels in [0, 255]).
    """
    check_quantization(quantization, output_type, input_type)
    if quantization == "int8" and calibration_images is None:
        raise ParameterError("{calibration_images} are needed for int8 quantization")
    model = _in_float32(model)
    if quantization != "int8":
        return converter_file(model, quantization)
    logits, softmax = _split_softmax(model)
    if output_type == "uint8" and not softmax:
        raise ParameterError(f"{{output_type}} uint8 is for a classifier ending in a softmax; {model.name} ends in "
                             f"{model.layers[-1].name}: leave it None (float32)")
    content = converter_file(logits, "int8", calibration_images)
    if input_type != "float32":
        content = graph_surgery.uint8_input(content)
    if softmax:
        content = graph_surgery.softmax_output(content, output_type or "uint8")
    return content


def _split_softmax(model):
    """(the model up to its logits, True) when its last layer is a softmax, else (model, False)."""
    last = model.layers[-1]
    is_softmax = isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation) and getattr(last.activation, "__name__", "") == "softmax")
    if not is_softmax:
        return model, False
    return keras.Model(model.input, last.input, name=f"{model.name}_logits"), True


def converter_file(model, quantization, calibration_images=None, ends="float32"):
    """The TFLite converter's own file of `model` (computing in float32 first): int8 with
    `ends` "float32" (float pixels in, float outputs out: what `convert` then reshapes) or
    "int8" (a microcontroller's file: mobilenet.converting.micro_conversion)."""
    model = _in_float32(model)
    resolution = model.input.shape[1]
    # A batch-1 input, as on a phone: fixed shapes let the runtime plan memory once. The
    # wrapper is named after the model, or Keras numbers it per process (functional_1,
    # functional_1_1, ...) and the file's tensor names, and so its bytes, with it.
    image = keras.Input((resolution, resolution, 3), batch_size=1, name="image")
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(image, model(image), name=model.name))
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantization == "int8":
        converter.representative_dataset = lambda: _representative_dataset(calibration_images, resolution)
        # Integer builtins only: conversion fails loudly rather than leave a float op inside.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.as_dtype(ends)
    # Keras prints the whole signature of the SavedModel the converter goes through (a
    # line per weight), and the converter warns that the input has no statistics: the
    # calibration gives them. The result is what matters.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Statistics for quantized inputs were expected")
        return converter.convert()


def check_quantization(quantization, output_type=None, input_type=None):
    """Raises ParameterError for an unknown quantization or type, or a type given for a
    file that is float32 at both ends."""
    if quantization not in QUANTIZATIONS:
        raise ParameterError(f"{{quantization}} must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}")
    for parameter, value, valid in (("output_type", output_type, OUTPUT_TYPES), ("input_type", input_type, INPUT_TYPES)):
        if value is None:
            continue
        if quantization != "int8":
            raise ParameterError(f"{{{parameter}}} is for {{quantization}} int8 only (a {quantization} file is "
                                 "float32 at both ends)")
        if value not in valid:
            raise ParameterError(f"{{{parameter}}} must be {' or '.join(valid)}, got {value!r}")


def _in_float32(model):
    """`model` with every layer computing in float32, its weights shared.

    A model trained with mixed precision (float16/bfloat16 compute, float32 weights)
    so exports exactly as the same weights trained in float32 would: the phone's
    kernels are float32 or int8, and their casts would only cost time.
    """
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def clone(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    clone = keras.models.clone_model(model, clone_function=clone)
    clone.set_weights(model.get_weights())
    return clone


def random_calibration_images(resolution, count=8):
    """Random uint8 pixels to calibrate int8 with when only the timing of the file matters:
    calibration sets the quantization scales, not the kernels or the speed."""
    return np.random.default_rng(0).integers(0, 256, (count, resolution, resolution, 3), np.uint8)


def _representative_dataset(images, resolution):
    # A black and a white frame pin the input's calibrated range to exactly [0, 255]: the
    # first QUANTIZE maps a pixel p to p - 128, with no rounding.
    yield [np.zeros((1, resolution, resolution, 3), np.float32)]
    yield [np.full((1, resolution, resolution, 3), 255, np.float32)]
    for image in images:
        yield [np.asarray(image, np.float32)[None]]


def convert_classifier(model, quantization, class_names, name, description, calibration_images=None,
                       output_type=None, input_type=None, display_names=None):
    """Converted bytes with TFLite metadata: raw-pixel input (mean 0, std 1), labels (and their
    readable `display_names`, when given), and the model's preprocessing (its input side,
    evaluation crop and scaling)."""
    flatbuffer = convert(model, quantization, calibration_images, output_type, input_type)
    return metadata.add_metadata(
        flatbuffer,
        name=name,
        description=description,
        labels=list(class_names),
        input_mean=0.0,  # the model scales pixels to [-1, 1] itself
        input_std=1.0,
        license="Apache-2.0",
        preprocessing=preprocessing.Preprocessing(int(model.input.shape[1])).to_json(),
        display_names=display_names,
    )


# Where each block of a standard MobileNet V1 ends: its layer names (keras.applications').
BLOCK_ENDS = [("stem", "conv1_relu")] + [(f"block {block}", f"conv_pw_{block}_relu") for block in range(1, 14)]


def convert_block_prefixes(model, content):
    """{block name: `model` up to the end of that block, converted as the file `content` was}:
    stem, block 1..13, then head (the whole model), for latency by block. The same
    quantization and input type; int8 calibrated on random pixels (scales, not speed)."""
    names = {layer.name for layer in model.layers}
    if not all(layer in names for _, layer in BLOCK_ENDS):
        raise ParameterError("{model}: not a standard MobileNet V1 (its blocks conv_pw_1..13 are not all there)")
    settings = graph.conversion_settings(content)
    calibration = random_calibration_images(int(model.input.shape[1]))
    prefixes = {}
    for block, layer in [*BLOCK_ENDS, ("head", None)]:
        prefix = keras.Model(model.input, model.get_layer(layer).output) if layer else model
        # A block's prefix ends in a feature map, which leaves an int8 file as float32; the
        # head (the whole model) ends as the file does.
        ends = settings if layer is None else {**settings, "output_type": None}
        prefixes[block] = convert(prefix, calibration_images=calibration, **ends)
    return prefixes
