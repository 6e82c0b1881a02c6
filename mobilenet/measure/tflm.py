"""A `.tflite` in TensorFlow Lite Micro (TFLM), the runtime of a microcontroller, through
its Python interpreter (the optional `tflite-micro` wheel: `pip install '.[micro]'`;
TFLM's reference kernels, those a chip without an optimised kernel library runs).

* `smallest_arena`: the smallest arena in which the file allocates and runs, by bisection;
* `arena_usage`: how TFLM spends that arena (its RecordingMicroAllocator's account:
  planned activations, the "head", and persistent structures, the "tail");
* `TFLMClassifier`: the file as a classifier that mobilenet.measure.evaluation.evaluate
  runs, fed a camera's uint8 pixel p as q = p - 128;
* `parity`: TFLM's scores against another runtime's (LiteRT's) on the same images.

Sizes are a 64-bit host's: its pointers make TFLM's structures (TfLiteEvalTensor,
NodeAndRegistration, ...) larger than on a 32-bit microcontroller, which needs less.
TFLM writes its errors from C++ to stderr; they are captured here, at the file descriptor.
"""

import contextlib
import io
import os
import re
import tempfile

import numpy as np

from mobilenet.errors import ParameterError
from mobilenet.flatbuffer import memory_plan
from mobilenet.measure import litert

MISSING = ("{target} micro needs TensorFlow Lite Micro's Python interpreter: pip install '.[micro]' "
           "(the tflite-micro wheel)")
ARENA_NOTE = ("measured with TFLM's Python interpreter on a 64-bit host: a 32-bit microcontroller needs less "
              "(its pointers, and so TFLM's structures, are smaller)")


def runtime():
    """TFLM's Python runtime module; ParameterError (one line) without the wheel."""
    try:
        from tflite_micro import runtime as micro_runtime
    except ImportError:
        raise ParameterError(MISSING) from None
    return micro_runtime


def check_available():
    """Raises ParameterError unless TFLM's Python interpreter can be imported."""
    runtime()


@contextlib.contextmanager
def _captured_stderr():
    """Collects what C++ writes to file descriptor 2 (TFLM's MicroPrintf goes there)."""
    captured = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.write(sink.read().decode(errors="replace"))


def interpreter(content, arena_size):
    """A TFLM interpreter over `content` with an `arena_size`-byte arena; RuntimeError when
    the arena is too small."""
    return runtime().Interpreter.from_bytes(bytes(content), arena_size=int(arena_size))


def _generous_arena(content):
    return 4 * memory_plan.peak_activation_bytes(content) + (1 << 20)


def _run_once(micro):
    """One inference on zeros: allocates what the first run allocates (the persistent
    TfLiteTensors of the input and output among them)."""
    details = micro.get_input_details(0)
    micro.set_input(np.zeros(details["shape"], details["dtype"]), 0)
    micro.invoke()
    micro.get_output(0)


def _fits(content, arena_size):
    """Whether TFLM allocates `content` in `arena_size` bytes and runs it once."""
    with _captured_stderr():
        try:
            _run_once(interpreter(content, arena_size))
        except RuntimeError:
            return False
    return True


def smallest_arena(content):
    """The smallest arena_size (bytes) in which TFLM allocates `content` and runs it (see
    the module's docstring: a 64-bit host's figure)."""
    runtime()
    upper = _generous_arena(content)
    while not _fits(content, upper):
        upper *= 2
    lower = 0  # does not fit
    while upper - lower > 1:
        middle = (lower + upper) // 2
        if _fits(content, middle):
            upper = middle
        else:
            lower = middle
    return upper


_ALLOCATION = re.compile(r"\[RecordingMicroAllocator\] Arena allocation (total|head|tail) (\d+) bytes")
_SECTION = re.compile(r"\[RecordingMicroAllocator\] '([^']+)' used (\d+) bytes")


def arena_usage(content, arena_size=None):
    """TFLM's account of its arena after one inference: {"total", "head" (planned
    activations and scratch buffers), "tail" (persistent structures), "sections" ({what:
    bytes}, the persistent ones' detail)}. TFLM's Python runtime offers only
    print_allocations(), which prints from C++ to stderr: captured and parsed."""
    micro = interpreter(content, arena_size or smallest_arena(content))
    _run_once(micro)
    with _captured_stderr() as log:
        micro.print_allocations()
    text = log.getvalue()
    usage = {key: int(value) for key, value in _ALLOCATION.findall(text)}
    if not {"total", "head", "tail"} <= set(usage):
        raise RuntimeError(f"TFLM's print_allocations() printed no arena account: {text[:200]!r}")
    usage["sections"] = {name: int(value) for name, value in _SECTION.findall(text)}
    return usage


def run(content, inputs, arena_size=None):
    """TFLM's int8 outputs (N, classes) for int8 `inputs` (N, ρ, ρ, 3)."""
    micro = interpreter(content, arena_size or _generous_arena(content))
    outputs = []
    for image in inputs:
        micro.set_input(np.asarray(image, np.int8)[None], 0)
        micro.invoke()
        outputs.append(micro.get_output(0)[0].copy())
    return np.stack(outputs)


def parity(first, second, scale=1.0):
    """{"same_top1": the share of rows with the same arg max, "max_steps": the largest
    difference in quantization steps} between two score arrays (N, classes) of one file in
    two runtimes: int8 outputs (`scale` 1) or dequantized ones (`scale` the output's)."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    return {"same_top1": float(np.mean(first.argmax(1) == second.argmax(1))),
            "max_steps": int(np.round(np.abs(first - second).max() / scale)) if first.size else 0}


class TFLMClassifier:
    """A microcontroller's `.tflite` in TFLM, as mobilenet.measure.evaluation.evaluate runs a
    classifier: a uint8 (H, W, 3) image in (each pixel p fed as q = p - 128, or as the
    input's quantization says), dequantized class scores out."""

    def __init__(self, content, arena_size=None):
        self.interpreter = interpreter(content, arena_size or _generous_arena(content))
        self.input = self.interpreter.get_input_details(0)
        self.output = self.interpreter.get_output_details(0)
        shape = [int(side) for side in self.input["shape"]]
        if len(shape) != 4 or shape[3] != 3 or self.input["dtype"] != np.int8:
            raise ParameterError(f"{{tflite}}: the model's input is {np.dtype(self.input['dtype']).name} {shape}, "
                                 "not an int8 RGB image [1, H, W, 3]")
        self.resolution = shape[1]
        _, self.labels, self.preprocessing = litert.described(content, self.resolution)
        self.input_scale = float(self.input["quantization_parameters"]["scales"][0])
        self.input_zero_point = int(self.input["quantization_parameters"]["zero_points"][0])
        self.output_scale = float(self.output["quantization_parameters"]["scales"][0])
        self.output_zero_point = int(self.output["quantization_parameters"]["zero_points"][0])

    @property
    def num_outputs(self):
        return int(self.output["shape"][-1])

    def __call__(self, pixels):
        """Class scores (float, dequantized) for one uint8 (H, W, 3) image."""
        self.interpreter.set_input(litert.int8_pixels(pixels, self.input_scale, self.input_zero_point)[None], 0)
        self.interpreter.invoke()
        scores = self.interpreter.get_output(0)[0]
        return (scores.astype(np.float32) - self.output_zero_point) * self.output_scale
