"""Keras model -> `.tflite` bytes for a microcontroller (TensorFlow Lite Micro, TFLM).

The phone's int8 file does not run in TFLM: its uint8 input becomes a float copy of the
image, and its float softmax and uint8 QUANTIZE have no TFLM kernel. The file here is all
int8 (int32 biases):

* int8 pixels in: a camera's uint8 pixel p goes in as q = p - 128 (on a chip,
  `(int8_t)(p ^ 0x80)`), scale 1, zero point -128, so q stands for the raw pixel p exactly
  and the model's own normalisation runs inside as integer ops;
* int8 scores out: the int8 softmax, scale 1/256, zero point -128 (probability
  (q + 128) / 256);
* batch 1, static shapes: no SHAPE, STRIDED_SLICE or PACK
  (mobilenet.flatbuffer.graph_surgery.make_shapes_static);
* an offline memory plan (mobilenet.flatbuffer.memory_plan), every buffer 16-byte aligned;
* the same TFLite metadata as the phone's file: name, labels, the model's preprocessing.

TFLM reports some errors by aborting the process, not by a Python exception:
`convert_for_micro` refuses the one case a converted classifier can hit, a softmax whose
logits have no range (a network whose outputs are constant).
"""

from mobilenet.converting import conversion
from mobilenet.errors import ParameterError
from mobilenet.flatbuffer import graph, graph_surgery, memory_plan, metadata
from mobilenet.model import preprocessing

INPUT_ZERO_POINT = -128  # q = p - 128 for a uint8 pixel p, scale 1
DYNAMIC_SHAPE_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")
# TFLM's int8 softmax needs beta * input_scale * 2**26 > 1: below it TFLM's
# QuantizeMultiplierGreaterThanOne aborts the process (the logits are then constant anyway).
SOFTMAX_MIN_INPUT_SCALE = 2.0**-26


def convert_for_micro(model, calibration_images, class_names=None, name=None, description=""):
    """`model` (a Keras classifier taking raw pixels and ending in a softmax) as `.tflite`
    bytes for TFLM: see the module's docstring.

    Args:
      model: the Keras model.
      calibration_images: an iterable of uint8 (ρ, ρ, 3) images that calibrate the int8
        activations; a black and a white frame are added, which pin the input's range to
        [0, 255] exactly (q = p - 128, no rounding).
      class_names, name, description: the file's TFLite metadata (labels, name,
        description) with the model's preprocessing; None: a file without metadata.

    Raises ParameterError when the softmax's input has no range (TFLM would abort on it).
    """
    resolution = int(model.input.shape[1])
    content = graph_surgery.make_shapes_static(conversion.converter_file(model, "int8", calibration_images, ends="int8"))
    _check_softmax(content, model.name)
    with_metadata = content
    if class_names is not None:
        with_metadata = metadata.add_metadata(
            content,
            name=name or f"MobileNet V1 {model.name}",
            description=description,
            labels=list(class_names),
            input_mean=0.0,  # the input stands for the raw pixel; the model normalises inside
            input_std=1.0,
            license="Apache-2.0",
            preprocessing=preprocessing.Preprocessing(resolution).to_json(),
        )
    # Planned after the metadata is added: the plan's entry survives add_metadata, its
    # alignment does not. Planning packs the flatbuffer anew (aligned), so the labels
    # packed after it are appended again.
    planned = metadata.carry_packed_files(memory_plan.offline_memory_plan(with_metadata), with_metadata)
    check_micro_file(planned)
    return planned


def _check_softmax(content, model_name):
    model = graph.read_model(content)
    subgraph = model.subgraphs[0]
    for operator in subgraph.operators:
        if graph.operator_name(model, operator) == "SOFTMAX":
            scale = float(subgraph.tensors[operator.inputs[0]].quantization.scale[0])
            if scale < SOFTMAX_MIN_INPUT_SCALE:
                raise ParameterError(
                    f"{{model}} {model_name}: the softmax's logits have no range (int8 scale {scale:.3g}, below "
                    "2^-26): the network gives the same scores for every image, and TensorFlow Lite Micro would "
                    "abort on it; train it (longer) first")


def check_micro_file(content):
    """Raises ValueError unless `content` is a file for TFLM as `convert_for_micro` makes
    them: int8 ends, no float op, no QUANTIZE or DEQUANTIZE, static shapes, no
    dynamic-shape op, an offline memory plan that holds."""
    model = graph.read_model(content)
    subgraph = model.subgraphs[0]
    names = graph.operator_names(content)
    problems = [f"has {name} ops" for name in sorted(set(names) & {"QUANTIZE", "DEQUANTIZE", *DYNAMIC_SHAPE_OPS})]
    problems += [f"{name} computes in float" for name in graph.float_operators(content)]
    for tensor in subgraph.tensors:
        if tensor.shapeSignature is not None and any(side < 0 for side in tensor.shapeSignature):
            problems.append(f"tensor {tensor.name.decode()} has a dynamic shape {list(tensor.shapeSignature)}")
    for end, indices in (("input", subgraph.inputs), ("output", subgraph.outputs)):
        for index in indices:
            if subgraph.tensors[index].type != graph.schema.TensorType.INT8:
                problems.append(f"its {end} is not int8")
    try:
        memory_plan.check_offline_plan(content)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ValueError("not a file for TensorFlow Lite Micro: " + "; ".join(problems))
