"""A `.tflite` in LiteRT (`ai_edge_litert`, the kernels Android runs): reading a file,
thread counts, whether XNNPACK runs all of it, and a classifier fed as an app feeds it
(uint8 pixels as they are, float32 ones normalised, int8 ones, a microcontroller's file,
as q = p - 128: `int8_pixels`)."""

import os

import numpy as np
from ai_edge_litert.compiled_model import CompiledModel
from ai_edge_litert.hardware_accelerator import HardwareAccelerator
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from mobilenet.errors import ParameterError, one_line
from mobilenet.flatbuffer import metadata
from mobilenet.model.preprocessing import Preprocessing


def check_threads(threads, parameter="threads"):
    """Raises ParameterError unless `threads` is a sequence of integers >= 1."""
    if not all(isinstance(count, int) and not isinstance(count, bool) and count >= 1 for count in threads):
        raise ParameterError(f"{{{parameter}}} takes integers >= 1, got {','.join(map(str, threads))}")


def read_tflite(path, parameter="tflite"):
    """The bytes of a `.tflite` file; ParameterError, naming `parameter`, if it is
    missing or not a whole flatbuffer."""
    name = "{" + parameter + "}"
    if not os.path.isfile(path):
        raise ParameterError(f"{name} {path}: no such file")
    with open(path, "rb") as file:
        content = file.read()
    if content[4:8] != b"TFL3":
        raise ParameterError(f"{name} {path} is not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        Interpreter(model_content=content)  # verifies the whole flatbuffer
    except ValueError as error:
        raise ParameterError(f"{name} {path} is not a complete TFLite model: {one_line(error)}") from None
    return content


def fully_delegated(content):
    """Whether LiteRT's CPU runtime runs every op of the file inside its XNNPACK delegate:
    LiteRT's own answer (CompiledModel.is_fully_accelerated on the CPU accelerator, which is
    XNNPACK). An op left outside runs in TFLite's reference kernels, single-threaded, and
    the data crosses between the two at each such op."""
    return CompiledModel.from_buffer(content, HardwareAccelerator.CPU).is_fully_accelerated()


def int8_pixels(pixels, scale=1.0, zero_point=-128, mean=0.0, std=1.0):
    """The int8 input of a file for uint8 pixels p: the value (p - mean) / std, quantized
    with the input's scale and zero point. For a microcontroller's file (scale 1, zero
    point -128, mean 0, std 1) it is q = p - 128 exactly; on a chip, `(int8_t)(p ^ 0x80)`."""
    values = (np.asarray(pixels, np.float32) - mean) / std
    return np.clip(np.round(values / scale) + zero_point, -128, 127).astype(np.int8)


def described(content, resolution):
    """(the file's metadata, {} without any; its labels, None without; how a picture becomes its
    input: the file's own word, else MobileNet's defaults at `resolution`)."""
    try:
        info = metadata.read_metadata(content)
    except ValueError:
        info = {}
    return info, info.get("labels") or None, Preprocessing.from_json(info.get("preprocessing"), resolution)


class TFLiteClassifier:
    """An image-classifier `.tflite` in the LiteRT interpreter, fed like an app feeds it."""

    def __init__(self, content, num_threads=None, input_mean=None, input_std=None, reference_kernels=False):
        """`reference_kernels`: TFLite's reference kernels (those TensorFlow Lite Micro ports)
        instead of the default ones (XNNPACK)."""
        if num_threads is not None:
            check_threads((num_threads,))
        resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
        self.interpreter = Interpreter(model_content=content, num_threads=num_threads,
                                       experimental_op_resolver_type=resolver)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        if len(self.input["shape"]) != 4 or self.input["shape"][3] != 3:
            raise ParameterError(f"{{tflite}}: the model's input is {list(self.input['shape'])}, not an RGB image [1, H, W, 3]")
        if self.input["dtype"] not in (np.uint8, np.float32, np.int8):
            # MediaPipe's ImageClassifier takes uint8 and float32; int8 is a microcontroller's file.
            raise ParameterError(f"{{tflite}}: the model's input is {np.dtype(self.input['dtype']).name}; only uint8, "
                                 "float32 and int8 are supported")
        self.resolution = int(self.input["shape"][1])
        info, self.labels, self.preprocessing = described(content, self.resolution)
        self.display_names = info.get("display_names") or None  # readable names beside the labels
        self.input_mean = input_mean if input_mean is not None else info.get("input_mean", 0.0)
        self.input_std = input_std if input_std is not None else info.get("input_std", 1.0)

    @property
    def num_outputs(self):
        return int(self.output["shape"][-1])

    def __call__(self, pixels):
        """Class scores (float, dequantized) for one uint8 (H, W, 3) image."""
        if self.input["dtype"] == np.uint8:
            image = np.asarray(pixels, np.uint8)
        elif self.input["dtype"] == np.int8:
            image = int8_pixels(pixels, *self.input["quantization"], self.input_mean, self.input_std)
        else:
            image = (np.asarray(pixels, np.float32) - self.input_mean) / self.input_std
        self.interpreter.set_tensor(self.input["index"], image[None])
        self.interpreter.invoke()
        scores = self.interpreter.get_tensor(self.output["index"])[0]
        scale, zero_point = self.output["quantization"]
        if scale:
            return (scores.astype(np.float32) - zero_point) * scale
        return scores.astype(np.float32)
