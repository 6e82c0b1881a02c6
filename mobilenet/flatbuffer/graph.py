"""What a `.tflite` file's graph holds: its operators and tensors, its mult-adds, the
conversion settings that made it, its input's quantization, whether any op computes in
float, and what its bytes hold (`flash_breakdown`, the flash a microcontroller gives it).
Read with the TFLite schema that ai-edge-litert ships."""

import io
import zipfile

import numpy as np
from ai_edge_litert import schema_py_generated as schema

_BUILTIN = schema.BuiltinOperator
_TYPE_NAMES = {schema.TensorType.UINT8: "uint8", schema.TensorType.FLOAT32: "float32", schema.TensorType.INT8: "int8"}
_BUILTIN_NAMES = {value: name for name, value in vars(_BUILTIN).items() if not name.startswith("_")}
# Bytes of one element of each tensor type a converted classifier holds.
_ITEM_SIZES = {schema.TensorType.INT8: 1, schema.TensorType.UINT8: 1, schema.TensorType.BOOL: 1,
               schema.TensorType.INT16: 2, schema.TensorType.FLOAT16: 2, schema.TensorType.INT32: 4,
               schema.TensorType.FLOAT32: 4, schema.TensorType.INT64: 8}
_FLOAT_TYPES = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16)


def read_model(content):
    """The file's flatbuffer as the schema's object tree (`ModelT`)."""
    return schema.ModelT.InitFromPackedBuf(content, 0)


def builtin_code(model, operator):
    """An operator's builtin code (codes past 127 live in builtinCode alone)."""
    code = model.operatorCodes[operator.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def operator_name(model, operator):
    """An operator's schema name (CONV_2D, ...); a custom op's own name."""
    builtin = builtin_code(model, operator)
    if builtin == _BUILTIN.CUSTOM:
        return model.operatorCodes[operator.opcodeIndex].customCode.decode()
    return _BUILTIN_NAMES[builtin]


def operator_names(content):
    """The builtin operators of the file, by schema name (CONV_2D, ...), in graph order, once each."""
    model = read_model(content)
    return list(dict.fromkeys(operator_name(model, operator)
                              for graph in model.subgraphs for operator in graph.operators))


def has_data(model, tensor):
    """Whether a tensor holds constant data (weights), as opposed to an activation."""
    data = model.buffers[tensor.buffer].data
    return data is not None and len(data) > 0


def tensor_bytes(tensor):
    """The bytes of a tensor's data, from its shape and type."""
    shape = [] if tensor.shape is None else [int(side) for side in tensor.shape]
    return int(np.prod(shape, dtype=np.int64)) * _ITEM_SIZES[tensor.type]


def input_quantization(content):
    """(scale, zero point) of the file's input; (0.0, 0) for a float input."""
    graph = read_model(content).subgraphs[0]
    quantization = graph.tensors[graph.inputs[0]].quantization
    if quantization is None or quantization.scale is None or not len(quantization.scale):
        return 0.0, 0
    return float(quantization.scale[0]), int(quantization.zeroPoint[0])


def float_operators(content):
    """The names of the file's operators that read or write a float activation (a float32 or
    float16 tensor without data): none in a file for an integer-only runtime."""
    model = read_model(content)
    found = []
    for graph in model.subgraphs:
        for operator in graph.operators:
            tensors = [graph.tensors[index] for index in (*operator.inputs, *operator.outputs) if index >= 0]
            if any(tensor.type in _FLOAT_TYPES and not has_data(model, tensor) for tensor in tensors):
                found.append(operator_name(model, operator))
    return list(dict.fromkeys(found))


def flash_breakdown(content):
    """The file's bytes by what they hold: {"total", "weights" (constant tensors' data:
    kernels, int32 biases, reshape shapes), "quantization" (scales as float32 and zero points
    as int64, per tensor or per channel, as the schema stores them), "metadata" (the metadata
    buffers, and the packed labels after the flatbuffer), "rest" (graph structure, tables,
    padding, names), "names" (tensor names, a part of rest)}: total = weights + quantization
    + metadata + rest."""
    model = read_model(content)
    graph = model.subgraphs[0]
    constant_buffers = {tensor.buffer for tensor in graph.tensors if has_data(model, tensor)}
    weights = sum(len(model.buffers[index].data) for index in constant_buffers)
    quantization = 0
    for tensor in graph.tensors:
        parameters = tensor.quantization
        if parameters is None:
            continue
        for values, item in ((parameters.scale, 4), (parameters.zeroPoint, 8), (parameters.min, 4),
                             (parameters.max, 4)):
            quantization += 0 if values is None else len(values) * item
    metadata = sum(len(model.buffers[entry.buffer].data) for entry in model.metadata or []
                   if model.buffers[entry.buffer].data is not None)
    metadata += len(content) - _flatbuffer_end(content)  # the zip of packed files, if any
    total = len(content)
    return {"total": total, "weights": weights, "quantization": quantization, "metadata": metadata,
            "rest": total - weights - quantization - metadata,
            "names": sum(len(tensor.name or b"") for tensor in graph.tensors)}


def _flatbuffer_end(content):
    """Where the flatbuffer ends: the start of the zip appended to it (its packed files), else
    the end of the file."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return min((entry.header_offset for entry in archive.infolist()), default=len(content))
    except zipfile.BadZipFile:
        return len(content)


def mult_adds(content):
    """Mult-adds of the CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED ops of a `.tflite`.

    Counted from tensor shapes: output elements times the filter's reduction size, the
    convention of the paper (and of mobilenet.model.complexity for the Keras model).
    """
    model = read_model(content)
    total = 0
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            builtin = builtin_code(model, op)
            if builtin not in (_BUILTIN.CONV_2D, _BUILTIN.DEPTHWISE_CONV_2D, _BUILTIN.FULLY_CONNECTED):
                continue
            output = np.prod(subgraph.tensors[op.outputs[0]].shape)
            weights = subgraph.tensors[op.inputs[1]].shape
            if builtin == _BUILTIN.CONV_2D:
                total += int(output) * int(np.prod(weights[1:]))  # [out, kh, kw, in]
            elif builtin == _BUILTIN.DEPTHWISE_CONV_2D:
                total += int(output) * int(weights[1] * weights[2])  # [1, kh, kw, channels]
            else:
                total += int(output) * int(weights[1])  # [out, in]
    return total


def conversion_settings(content):
    """The conversion settings that made `content`: quantization, and for int8 the input and
    output types, as mobilenet.converting.conversion.convert takes them."""
    model = read_model(content)
    graph = model.subgraphs[0]
    types = {tensor.type for tensor in graph.tensors}
    activations = {tensor.type for tensor in graph.tensors if not has_data(model, tensor)}
    if schema.TensorType.INT8 in activations:
        return {"quantization": "int8", "input_type": _TYPE_NAMES[graph.tensors[graph.inputs[0]].type],
                "output_type": _TYPE_NAMES[graph.tensors[graph.outputs[0]].type]}
    if schema.TensorType.FLOAT16 in types:
        return {"quantization": "float16"}
    return {"quantization": "dynamic" if schema.TensorType.INT8 in types else "float32"}
