"""The ends of an int8 `.tflite` rewritten so that LiteRT's XNNPACK delegate runs every op.

The converter's own int8 file with uint8 pixels in and uint8 scores out begins with a
QUANTIZE from uint8 to int8 and ends with an int8 SOFTMAX and a QUANTIZE from int8 to
uint8. XNNPACK takes none of the three (it converts between integer types only when both
are the same, and its softmax is float), so they ran in TFLite's own single-threaded
kernels, outside the delegate, and cost more than whole blocks of the network
(docs/BENCHMARKS.md, exported models). Here the file is converted with float32 ends
(float pixels in, float logits out, both converted to and from int8 inside XNNPACK) and
its ends are then rewritten with TensorFlow's flatbuffer_utils object API:

* `uint8_input`: a uint8 input (scale 1, zero point 0: raw pixels) feeding a DEQUANTIZE
  into the float input, which the converter's QUANTIZE turns into int8;
* `softmax_output`: a float SOFTMAX after the logits and, for uint8 scores, a QUANTIZE
  from float to uint8 (scale 1/256, zero point 0, as Google's published files).

The new input and output keep the converter's tensor names and the signature's, so
MediaPipe, Android and the metadata see the file as before.

For a microcontroller (TensorFlow Lite Micro), two more rewrites:

* `make_shapes_static`: batch 1 everywhere, and the SHAPE, STRIDED_SLICE and PACK ops that
  the converter leaves to compute a reshape's shape for a batch a chip never changes
  replaced by a constant;
* `align_buffers`: every buffer at a multiple of 16 bytes (TFLM's own aligner).
"""

import os
import tempfile

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from mobilenet.flatbuffer.graph import builtin_code

UINT8_SCORE_SCALE = 1 / 256  # uint8 probabilities 0..255 cover [0, 1)


def uint8_input(content, scale=1.0, zero_point=0):
    """`content` (a `.tflite` whose only input is float32) taking uint8 instead: pixel q stands
    for scale * (q - zero_point), the float value the old input took."""
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    graph = model.subgraphs[0]
    (old_input,) = graph.inputs
    float_input = graph.tensors[old_input]
    _check_type(float_input, schema.TensorType.FLOAT32, "input")
    new_input = _add_tensor(graph, model, float_input.shape, schema.TensorType.UINT8, float_input.name,
                            _quantization(scale, zero_point))
    float_input.name = f"{float_input.name}/dequantized"
    graph.operators.insert(0, _operator(model, schema.BuiltinOperator.DEQUANTIZE, [new_input], [old_input],
                                        schema.BuiltinOptions.DequantizeOptions, schema.DequantizeOptionsT()))
    graph.inputs = [new_input]
    _renumber_signature(model, old_input, new_input, "inputs")
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def softmax_output(content, output_type="uint8"):
    """`content` (a `.tflite` whose only output is float32 logits) giving softmax scores, as
    float32, or as uint8 with scale 1/256 (`output_type` "uint8")."""
    model = flatbuffer_utils.convert_bytearray_to_object(content)
    graph = model.subgraphs[0]
    (logits_index,) = graph.outputs
    logits = graph.tensors[logits_index]
    _check_type(logits, schema.TensorType.FLOAT32, "output")
    name, logits.name = logits.name, f"{logits.name}/logits"
    uint8 = output_type == "uint8"
    scores = _add_tensor(graph, model, logits.shape, schema.TensorType.FLOAT32,
                         f"{name}/float" if uint8 else name, None)
    softmax = schema.SoftmaxOptionsT()
    softmax.beta = 1.0
    graph.operators.append(_operator(model, schema.BuiltinOperator.SOFTMAX, [logits_index], [scores],
                                     schema.BuiltinOptions.SoftmaxOptions, softmax))
    output = scores
    if uint8:
        output = _add_tensor(graph, model, logits.shape, schema.TensorType.UINT8, name,
                             _quantization(UINT8_SCORE_SCALE, 0))
        graph.operators.append(_operator(model, schema.BuiltinOperator.QUANTIZE, [scores], [output],
                                         schema.BuiltinOptions.QuantizeOptions, schema.QuantizeOptionsT()))
    graph.outputs = [output]
    _renumber_signature(model, logits_index, output, "outputs")
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _check_type(tensor, expected, end):
    if tensor.type != expected:
        name = flatbuffer_utils.type_to_name(tensor.type)
        raise ValueError(f"the {end} of the file is {name}, not {flatbuffer_utils.type_to_name(expected)}")


def _quantization(scale, zero_point):
    parameters = schema.QuantizationParametersT()
    parameters.scale, parameters.zeroPoint = [float(scale)], [int(zero_point)]
    return parameters


def _add_tensor(graph, model, shape, tensor_type, name, quantization):
    """A new activation tensor (an empty buffer of its own, as the converter gives each)."""
    model.buffers.append(schema.BufferT())
    tensor = schema.TensorT()
    tensor.shape = np.array(shape, np.int32)
    tensor.type, tensor.name, tensor.quantization = tensor_type, name, quantization
    tensor.buffer = len(model.buffers) - 1
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _operator(model, builtin, inputs, outputs, options_type, options):
    operator = schema.OperatorT()
    operator.opcodeIndex = _opcode_index(model, builtin)
    operator.inputs, operator.outputs = list(inputs), list(outputs)
    operator.builtinOptionsType, operator.builtinOptions = options_type, options
    return operator


def _opcode_index(model, builtin):
    """The model's operator code for `builtin`, added (version 1: float and uint8 kernels) if
    it has none; one it has is kept at its version, which covers version 1's cases too."""
    for index, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return index
    code = schema.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _renumber_signature(model, old, new, side):
    for signature in model.signatureDefs or []:
        for tensor_map in getattr(signature, side) or []:
            if tensor_map.tensorIndex == old:
                tensor_map.tensorIndex = new


def make_shapes_static(content):
    """`content` with static shapes: every shape signature dropped (dimensions are those of
    batch 1), each RESHAPE's computed shape input replaced by a constant (its output's
    shape), and the ops and tensors left without a use (the SHAPE, STRIDED_SLICE and PACK
    that computed it) deleted. The same bytes when there is nothing to do; the rewritten
    bytes are not aligned (`align_buffers`), and lose what followed the flatbuffer."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    graph = model.subgraphs[0]
    changed = False
    for tensor in graph.tensors:
        if tensor.shapeSignature is not None:
            changed = changed or any(side < 0 for side in tensor.shapeSignature)
            tensor.shapeSignature = None
    produced = {output for operator in graph.operators for output in operator.outputs}
    for operator in graph.operators:
        if (builtin_code(model, operator) == schema.BuiltinOperator.RESHAPE and len(operator.inputs) > 1
                and operator.inputs[1] in produced):
            output = graph.tensors[operator.outputs[0]]
            operator.inputs[1] = _add_constant(model, graph, np.asarray(output.shape, np.int32),
                                               f"{output.name.decode()}/shape")
            changed = True
    if not changed:
        return content
    _delete_dead_operators(graph)
    _prune(model, graph)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _add_constant(model, graph, array, name):
    """A new int32 constant tensor holding `array`; returns its index."""
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(array.astype("<i4").tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.shape = np.asarray(array.shape, np.int32)
    tensor.type = schema.TensorType.INT32
    tensor.buffer = len(model.buffers) - 1
    tensor.name = name.encode()
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _delete_dead_operators(graph):
    """Deletes, until none is left, the operators none of whose outputs is used."""
    while True:
        used = set(graph.outputs) | {index for operator in graph.operators for index in operator.inputs}
        alive = [operator for operator in graph.operators if any(output in used for output in operator.outputs)]
        if len(alive) == len(graph.operators):
            return
        graph.operators = alive


def _prune(model, graph):
    """Renumbers `graph`'s tensors and the model's operator codes to those still used, and
    empties the buffers of the tensors dropped."""
    used = sorted({index for operator in graph.operators for index in (*operator.inputs, *operator.outputs)
                   if index >= 0} | set(graph.inputs) | set(graph.outputs))
    renumber = {old: new for new, old in enumerate(used)}
    kept = {graph.tensors[index].buffer for index in used}
    for index, tensor in enumerate(graph.tensors):
        if index not in renumber and tensor.buffer not in kept and tensor.buffer != 0:
            model.buffers[tensor.buffer].data = None
    graph.tensors = [graph.tensors[index] for index in used]
    for operator in graph.operators:
        operator.inputs = [renumber[index] if index >= 0 else index for index in operator.inputs]
        operator.outputs = [renumber[index] for index in operator.outputs]
    graph.inputs = [renumber[index] for index in graph.inputs]
    graph.outputs = [renumber[index] for index in graph.outputs]
    for signature in model.signatureDefs or []:
        for item in (*(signature.inputs or []), *(signature.outputs or [])):
            item.tensorIndex = renumber[item.tensorIndex]
    codes = sorted({operator.opcodeIndex for operator in graph.operators})
    recode = {old: new for new, old in enumerate(codes)}
    model.operatorCodes = [model.operatorCodes[index] for index in codes]
    for operator in graph.operators:
        operator.opcodeIndex = recode[operator.opcodeIndex]


def align_buffers(content):
    """`content` rewritten by TensorFlow Lite Micro's own aligner (tflite_flatbuffer_align,
    in the tflite-micro wheel) so that every buffer starts at a multiple of 16 bytes: the
    converter aligns only its large buffers, a Python flatbuffer builder none. What followed
    the flatbuffer (packed files) is not kept. Unchanged without the wheel (a file that runs
    on a host, but may not on a chip whose kernels need aligned weights)."""
    try:
        from tflite_micro.tensorflow.lite.micro.tools import tflite_flatbuffer_align_wrapper as aligner
    except ImportError:
        return content
    with tempfile.TemporaryDirectory() as directory:
        source, target = os.path.join(directory, "in.tflite"), os.path.join(directory, "out.tflite")
        with open(source, "wb") as file:
            file.write(content)
        aligner.align_tflite_model(source, target)
        with open(target, "rb") as file:
            return file.read()


def misaligned_buffers(content, alignment=16):
    """Indices of the non-empty buffers whose data does not start at a multiple of
    `alignment` bytes into `content` (a C array aligned to 16 puts file offsets at such
    addresses)."""
    model = schema.Model.GetRootAsModel(bytearray(content), 0)
    misaligned = []
    for index in range(model.BuffersLength()):
        buffer = model.Buffers(index)
        if buffer.DataLength() and buffer._tab.Vector(buffer._tab.Offset(4)) % alignment:
            misaligned.append(index)
    return misaligned
