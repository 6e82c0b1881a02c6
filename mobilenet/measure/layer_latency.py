"""Latency by block: where a MobileNet `.tflite`'s time goes, beside where its mult-adds go.

LiteRT's Python API has no per-op profiler, so the network is cut after the first
convolution ("stem") and after each of the 13 depthwise-separable blocks, each prefix is
converted the way the file was (same quantization and input type; int8
calibrated on random pixels, which sets scales, not speed), and the prefixes are timed
interleaved in one fresh process. A block's latency is its prefix's minus the previous
prefix's. XNNPACK fuses ops and plans memory across the whole graph, so these differences
are estimates, not measurements of each block alone.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import keras
from ai_edge_litert import schema_py_generated as schema

from mobilenet.exporting import conversion
from mobilenet.measure import evaluation, latency, litert
from mobilenet.model import network
from mobilenet.errors import ParameterError

FUSION_NOTE = ("XNNPACK fuses operators and plans memory across the whole graph: a block's share is the "
               "difference of two prefixes' latencies, an estimate, not the block timed alone. A prefix's time "
               "includes an invocation's fixed cost (it falls on the stem) and writing out its last feature map, so "
               "a stride-2 block, whose map is a quarter of the one before, can come out negative.")


def block_prefixes(model):
    """[(name, the model up to the end of that block)]: stem, block 1..13, head (the whole model)."""
    outputs = [("stem", "conv1_relu")] + [(f"block {block}", f"conv_pw_{block}_relu") for block in range(1, 14)]
    names = {layer.name for layer in model.layers}
    if not all(layer in names for _, layer in outputs):
        raise ParameterError("{model}: not a standard MobileNet V1 (its blocks conv_pw_1..13 are not all there)")
    return [(name, keras.Model(model.input, model.get_layer(layer).output)) for name, layer in outputs] + [("head", model)]


def file_settings(content):
    """The conversion settings that made `content`: quantization, input and output types."""
    tflite = schema.ModelT.InitFromPackedBuf(content, 0)
    graph = tflite.subgraphs[0]
    types = {tensor.type for tensor in graph.tensors}
    activations = {tensor.type for tensor in graph.tensors if not _has_data(tflite, tensor)}
    name = {schema.TensorType.UINT8: "uint8", schema.TensorType.FLOAT32: "float32", schema.TensorType.INT8: "int8"}
    if schema.TensorType.INT8 in activations:
        return {"quantization": "int8", "input_type": name[graph.tensors[graph.inputs[0]].type],
                "output_type": name[graph.tensors[graph.outputs[0]].type]}
    if schema.TensorType.FLOAT16 in types:
        return {"quantization": "float16"}
    return {"quantization": "dynamic" if schema.TensorType.INT8 in types else "float32"}


def _has_data(tflite, tensor):
    data = tflite.buffers[tensor.buffer].data
    return data is not None and len(data) > 0


def block_latency(tflite, model=None, threads=latency.THREADS, runs=100):
    """Per-block latency of the `.tflite` at `tflite`, as rows of dicts: block, mult_adds,
    mult_adds_share, and per thread count latency_ms_T and latency_share_T; plus the
    whole file's own latency at each thread count ({T: median ms}).

    `model` is the file's `.keras` model; None for the training run's best.keras beside
    the file. A file without one is not a MobileNet made here: ParameterError.
    """
    content = litert.read_tflite(tflite)
    litert.check_threads(threads)
    model_path = model or evaluation.trained_model_beside(tflite)
    if not model_path:
        raise ParameterError(f"{{tflite}} {tflite} is not a MobileNet made here (no training run's best.keras "
                             "beside it): give its .keras model as {model}")
    resolution = litert.TFLiteClassifier(content).resolution
    keras_model = network.with_resolution(network.load_model(model_path, "model"), resolution)
    settings = file_settings(content)
    calibration = conversion.random_calibration_images(resolution)
    prefixes = {}
    for name, prefix in block_prefixes(keras_model):
        # A block's prefix ends in a feature map, which leaves an int8 file as float32; the
        # head (the whole model) ends as the file does.
        ends = settings if name == "head" else {**settings, "output_type": None}
        prefixes[name] = conversion.convert(prefix, calibration_images=calibration, **ends)
    timings = latency.compare_in_fresh_process({**prefixes, "file": content}, tuple(threads), runs=runs)
    rows, previous_mult_adds, previous_ms = [], 0, dict.fromkeys(threads, 0.0)
    total_mult_adds = latency.mult_adds(prefixes["head"])
    for name, prefix in prefixes.items():
        mult_adds = latency.mult_adds(prefix)
        row = {"block": name, "mult_adds": mult_adds - previous_mult_adds,
               "mult_adds_share": (mult_adds - previous_mult_adds) / total_mult_adds}
        for count in threads:
            median = timings[name][count]["median_ms"]
            row[f"latency_ms_{count}"] = median - previous_ms[count]
            row[f"latency_share_{count}"] = (median - previous_ms[count]) / timings["head"][count]["median_ms"]
            previous_ms[count] = median
        rows.append(row)
        previous_mult_adds = mult_adds
    return rows, {count: timings["file"][count]["median_ms"] for count in threads}


def format_rows(rows, file_latency):
    threads = list(file_latency)
    lines = [f"{'block':<9}{'mult-adds':>12}{'share':>8}" + "".join(f"{f'{t} thread(s) ms':>17}{'share':>8}"
                                                                   for t in threads)]
    for row in rows:
        lines.append(f"{row['block']:<9}{row['mult_adds'] / 1e6:>11.2f}M{100 * row['mult_adds_share']:>7.1f}%"
                     + "".join(f"{row[f'latency_ms_{t}']:>17.3f}{100 * row[f'latency_share_{t}']:>7.1f}%"
                               for t in threads))
    sums = "".join(f"{sum(row[f'latency_ms_{t}'] for row in rows):>17.3f}{'':>8}" for t in threads)
    lines.append(f"{'sum':<9}{sum(row['mult_adds'] for row in rows) / 1e6:>11.2f}M{'':>8}{sums}")
    lines.append(f"{'the file':<9}{'':>20}" + "".join(f"{file_latency[t]:>17.3f}{'':>8}" for t in threads))
    return "\n".join(lines + [FUSION_NOTE])


def litert_benchmark(tflite, threads=latency.THREADS, runs=100):
    """{T: median ms} of LiteRT's own `litert-benchmark` (ai-edge-litert's command) on the
    file, or None where it is not installed."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "litert-benchmark")  # the venv's
    command = beside_python if os.path.isfile(beside_python) else shutil.which("litert-benchmark")
    if command is None:
        return None
    medians = {}
    with tempfile.TemporaryDirectory() as directory:
        for count in threads:
            result = os.path.join(directory, f"{count}.json")
            subprocess.run([command, "--model", os.path.abspath(tflite), "--num_threads", str(count),
                            "--num_runs", str(runs), "--warmup_runs", "20", "--result_json", result],
                           capture_output=True, text=True, check=True)
            with open(result) as file:
                medians[count] = json.load(file)["latency"]["median_ms"]
    return medians
