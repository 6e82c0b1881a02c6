"""A `.tflite` in LiteRT (`ai_edge_litert`, the kernels Android runs): reading a file,
thread counts, whether XNNPACK runs all of it, and a classifier fed as an app feeds it."""

import os

import numpy as np
from ai_edge_litert.compiled_model import CompiledModel
from ai_edge_litert.hardware_accelerator import HardwareAccelerator
from ai_edge_litert.interpreter import Interpreter

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


class TFLiteClassifier:
    """An image-classifier `.tflite` in the LiteRT interpreter, fed like an app feeds it."""

    def __init__(self, content, num_threads=None, input_mean=None, input_std=None):
        if num_threads is not None:
            check_threads((num_threads,))
        self.interpreter = Interpreter(model_content=content, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        if len(self.input["shape"]) != 4 or self.input["shape"][3] != 3:
            raise ParameterError(f"{{tflite}}: the model's input is {list(self.input['shape'])}, not an RGB image [1, H, W, 3]")
        if self.input["dtype"] not in (np.uint8, np.float32):
            # MediaPipe's ImageClassifier accepts no other input types either.
            raise ParameterError(f"{{tflite}}: the model's input is {np.dtype(self.input['dtype']).name}; only uint8 and float32 are supported")
        self.resolution = int(self.input["shape"][1])
        try:
            info = metadata.read_metadata(content)
        except ValueError:
            info = {}
        self.labels = info.get("labels") or None
        # How a picture becomes the input: the file's own word, else MobileNet's defaults.
        self.preprocessing = Preprocessing.from_json(info.get("preprocessing"), self.resolution)
        self.input_mean = input_mean if input_mean is not None else info.get("input_mean", 0.0)
        self.input_std = input_std if input_std is not None else info.get("input_std", 1.0)

    @property
    def num_outputs(self):
        return int(self.output["shape"][-1])

    def __call__(self, pixels):
        """Class scores (float, dequantized) for one uint8 (H, W, 3) image."""
        if self.input["dtype"] == np.uint8:
            image = np.asarray(pixels, np.uint8)
        else:
            image = (np.asarray(pixels, np.float32) - self.input_mean) / self.input_std
        self.interpreter.set_tensor(self.input["index"], image[None])
        self.interpreter.invoke()
        scores = self.interpreter.get_tensor(self.output["index"])[0]
        scale, zero_point = self.output["quantization"]
        if scale:
            return (scores.astype(np.float32) - zero_point) * scale
        return scores.astype(np.float32)
