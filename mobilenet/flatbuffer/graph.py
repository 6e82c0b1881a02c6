"""What a `.tflite` file's graph holds: its operators and tensors, its mult-adds, and the
conversion settings that made it. Read with the TFLite schema that ai-edge-litert ships."""

import numpy as np
from ai_edge_litert import schema_py_generated as schema

_BUILTIN = schema.BuiltinOperator
_TYPE_NAMES = {schema.TensorType.UINT8: "uint8", schema.TensorType.FLOAT32: "float32", schema.TensorType.INT8: "int8"}


def read_model(content):
    """The file's flatbuffer as the schema's object tree (`ModelT`)."""
    return schema.ModelT.InitFromPackedBuf(content, 0)


def builtin_code(model, operator):
    """An operator's builtin code (codes past 127 live in builtinCode alone)."""
    code = model.operatorCodes[operator.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def operator_names(content):
    """The builtin operators of the file, by schema name (CONV_2D, ...), in graph order, once each."""
    model = read_model(content)
    by_code = {value: name for name, value in vars(_BUILTIN).items() if not name.startswith("_")}
    return list(dict.fromkeys(by_code[builtin_code(model, operator)]
                              for graph in model.subgraphs for operator in graph.operators))


def has_data(model, tensor):
    """Whether a tensor holds constant data (weights), as opposed to an activation."""
    data = model.buffers[tensor.buffer].data
    return data is not None and len(data) > 0


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
