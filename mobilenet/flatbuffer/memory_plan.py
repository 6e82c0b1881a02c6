"""Where a `.tflite`'s activations lie in TensorFlow Lite Micro's arena: a plan made
offline and stored in the file, and the floors no plan can go below.

TFLM places the tensors it computes (not the constants, which stay in flash) in the head of
its arena. Its own greedy planner places the buffers of a chain network badly, well above
the largest input + output pair of any op (issue 30). TFLM also takes a plan made
offline, from the model's metadata "OfflineMemoryAllocation"
(tensorflow/lite/micro/docs/memory_management.md, "Offline planned tensor allocations"):

* `plan_offsets`: a plan whose head is the floor for a chain (the largest input + output
  of any op, `peak_activation_bytes`), for any graph no more than what is alive at once
  (`live_peak_bytes`) where the gaps allow;
* `offline_memory_plan`: the file with that plan in its metadata;
* `read_offline_plan`, `check_offline_plan`: the plan read back, and checked: no two
  tensors alive at the same time overlap.
"""

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from mobilenet.flatbuffer.graph import has_data, read_model, tensor_bytes
from mobilenet.flatbuffer.graph_surgery import align_buffers

OFFLINE_PLAN_METADATA = "OfflineMemoryAllocation"
OFFLINE_PLAN_VERSION = 0  # what Vela writes; TFLM reads only the count and the offsets
BUFFER_ALIGNMENT = 16  # TFLM's kBufferAlignment: its planner rounds every buffer up to it


def peak_activation_bytes(content):
    """The largest input-plus-output bytes of any one op (tensors without data only, not
    rounded up): the floor of any arena head for a chain network."""
    model = read_model(content)
    graph = model.subgraphs[0]
    peak = 0
    for operator in graph.operators:
        tensors = {index for index in (*operator.inputs, *operator.outputs)
                   if index >= 0 and not has_data(model, graph.tensors[index])}
        peak = max(peak, sum(tensor_bytes(graph.tensors[index]) for index in tensors))
    return peak


def live_peak_bytes(content):
    """The largest total of (16-byte aligned) tensors alive at once: no plan's head is
    smaller. For a chain network it is `peak_activation_bytes`, aligned."""
    model = read_model(content)
    return _live(model, model.subgraphs[0])[2]


def plan_offsets(content):
    """({tensor index: byte offset in the arena head}, head bytes): the offline plan.

    Tensors are placed in the order they are made. The floor is the largest total of
    tensors alive at once (for a chain, the largest input + output of any op). Each tensor
    goes into a gap of [0, floor) free of every tensor whose lifetime overlaps its own, at
    the end opposite its producer's inputs: the top when those lie low, the bottom
    otherwise, graph inputs at the bottom. A chain so ping-pongs between the two ends, and
    its head is the floor. A tensor no gap takes goes on top of those in its way (the head
    grows).
    """
    model = read_model(content)
    graph = model.subgraphs[0]
    lifetimes, sizes, floor = _live(model, graph)
    producer = {output: operator for operator in graph.operators for output in operator.outputs}
    offsets = {}
    for index in sorted(lifetimes, key=lambda i: (lifetimes[i][0], -sizes[i])):
        start, end = lifetimes[index]
        size = sizes[index]
        busy = sorted((offsets[other], offsets[other] + sizes[other]) for other in offsets
                      if lifetimes[other][0] <= end and start <= lifetimes[other][1])
        gaps, cursor = [], 0
        for low, high in busy:
            if low > cursor:
                gaps.append((cursor, low))
            cursor = max(cursor, high)
        gaps.append((cursor, max(floor, cursor)))
        fitting = [(low, high) for low, high in gaps if high - low >= size]
        inputs = [other for other in (producer[index].inputs if index in producer else []) if other in offsets]
        centre = np.mean([offsets[other] + sizes[other] / 2 for other in inputs]) if inputs else floor
        if not fitting:
            offsets[index] = cursor
        elif inputs and centre < floor / 2:
            low, high = fitting[-1]
            offsets[index] = high - size  # the top
        else:
            offsets[index] = fitting[0][0]  # the bottom
    head = max((offsets[index] + sizes[index] for index in offsets), default=0)
    return offsets, head


def offline_memory_plan(content):
    """`content` with TFLM's offline memory plan: metadata "OfflineMemoryAllocation"
    naming a buffer of little-endian int32 [version 0, subgraph 0, N, offset_0 ..
    offset_N-1], one offset per tensor of the subgraph, -1 for those TFLM does not plan
    (constants). Offsets from `plan_offsets`; TFLM still places its kernels' scratch
    buffers itself, in the gaps. The bytes come back 16-byte aligned (`align_buffers`),
    without what followed the flatbuffer (packed files)."""
    offsets, _ = plan_offsets(content)
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    graph = model.subgraphs[0]
    words = [OFFLINE_PLAN_VERSION, 0, len(graph.tensors)] + [offsets.get(index, -1) for index in range(len(graph.tensors))]
    data = np.frombuffer(np.asarray(words, "<i4").tobytes(), np.uint8)
    model.metadata = list(model.metadata or [])
    existing = [entry for entry in model.metadata if entry.name and entry.name.decode() == OFFLINE_PLAN_METADATA]
    if existing:
        model.buffers[existing[0].buffer].data = data
    else:
        buffer = schema.BufferT()
        buffer.data = data
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = OFFLINE_PLAN_METADATA.encode()
        entry.buffer = len(model.buffers) - 1
        model.metadata.append(entry)
    return align_buffers(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))


def read_offline_plan(content):
    """The int32 words of `content`'s offline plan, or None without one."""
    model = read_model(content)
    for entry in model.metadata or []:
        if entry.name.decode() == OFFLINE_PLAN_METADATA:
            return np.frombuffer(bytes(model.buffers[entry.buffer].data), "<i4")
    return None


def check_offline_plan(content):
    """The head bytes `content`'s offline plan uses; ValueError if it has none, if two
    tensors alive at the same time overlap in it, or if it places a constant."""
    words = read_offline_plan(content)
    if words is None:
        raise ValueError("the file has no offline memory plan")
    model = read_model(content)
    graph = model.subgraphs[0]
    if words[2] != len(graph.tensors) or len(words) != 3 + len(graph.tensors):
        raise ValueError(f"the plan has {words[2]} offsets for {len(graph.tensors)} tensors")
    lifetimes = _lifetimes(model, graph)
    placed = {index: (int(words[3 + index]), int(words[3 + index]) + tensor_bytes(graph.tensors[index]))
              for index in range(len(graph.tensors)) if words[3 + index] >= 0}
    for index in placed:
        if index not in lifetimes:
            raise ValueError(f"tensor {index} is planned but TFLM does not plan it (a constant)")
    for first in placed:
        for second in placed:
            if (first < second and lifetimes[first][0] <= lifetimes[second][1]
                    and lifetimes[second][0] <= lifetimes[first][1]
                    and placed[first][0] < placed[second][1] and placed[second][0] < placed[first][1]):
                raise ValueError(f"tensors {first} and {second} are alive together and overlap")
    return max((end for _, end in placed.values()), default=0)


def _lifetimes(model, graph):
    """{tensor index: (first, last)} for the tensors TFLM plans in the arena (without data,
    not variables, not empty), in TFLM's numbering: graph inputs are made at 0, op i runs
    at i + 1, graph outputs live to the last op (micro_allocation_info.cc)."""
    first, last = {}, {}
    for index in graph.inputs:
        first[index] = 0
    for step, operator in enumerate(graph.operators, start=1):
        for index in operator.outputs:
            first.setdefault(index, step)
            last[index] = step
        for index in operator.inputs:
            if index >= 0:
                last[index] = step
    for index in graph.outputs:
        last[index] = len(graph.operators)
    planned = {}
    for index, start in first.items():
        tensor = graph.tensors[index]
        if has_data(model, tensor) or tensor.isVariable or tensor_bytes(tensor) == 0:
            continue
        planned[index] = (start, last.get(index, start))
    return planned


def _aligned(size):
    return -(-size // BUFFER_ALIGNMENT) * BUFFER_ALIGNMENT


def _live(model, graph):
    """(lifetimes, 16-byte aligned sizes, the largest total of tensors alive at once)."""
    lifetimes = _lifetimes(model, graph)
    sizes = {index: _aligned(tensor_bytes(graph.tensors[index])) for index in lifetimes}
    floor = max((sum(sizes[index] for index, (start, end) in lifetimes.items() if start <= step <= end)
                 for step in range(len(graph.operators) + 1)), default=0)
    return lifetimes, sizes, floor
