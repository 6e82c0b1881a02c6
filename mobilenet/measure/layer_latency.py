"""Latency by block: where a MobileNet `.tflite`'s time goes, beside where its mult-adds go.

LiteRT's Python API has no per-op profiler, so the network is cut after the first
convolution ("stem") and after each of the 13 depthwise-separable blocks, each prefix is
converted the way the file was (mobilenet.converting.conversion.convert_block_prefixes,
called by mobilenet.exporting.comparison, which holds the Keras model), and the prefixes are timed
interleaved in one fresh process (`time_blocks`). A block's latency is its prefix's minus the previous
prefix's. XNNPACK fuses ops and plans memory across the whole graph, so these differences
are estimates, not measurements of each block alone.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from mobilenet.errors import ParameterError
from mobilenet.flatbuffer import graph
from mobilenet.measure import latency, litert

FUSION_NOTE = ("XNNPACK fuses operators and plans memory across the whole graph: a block's share is the "
               "difference of two prefixes' latencies, an estimate, not the block timed alone. A prefix's time "
               "includes an invocation's fixed cost (it falls on the stem) and writing out its last feature map, so "
               "a stride-2 block, whose map is a quarter of the one before, can come out negative.")


def time_blocks(prefixes, content, threads=latency.THREADS, runs=100):
    """Per-block latency of the file `content`, from `prefixes` ({block name: the file's
    network up to the end of that block, converted as the file was}, in order, the last the
    whole network), as rows of dicts: block, mult_adds, mult_adds_share, and per thread
    count latency_ms_T and latency_share_T; plus the file's own latency ({T: median ms}).
    Everything is timed interleaved in one fresh process."""
    litert.check_threads(threads)
    if not prefixes:
        raise ParameterError("{prefixes} needs at least one block")
    timings = latency.compare_in_fresh_process({**prefixes, "file": content}, tuple(threads), runs=runs)
    whole = list(prefixes)[-1]
    rows, previous_mult_adds, previous_ms = [], 0, dict.fromkeys(threads, 0.0)
    total_mult_adds = graph.mult_adds(prefixes[whole])
    for name, prefix in prefixes.items():
        mult_adds = graph.mult_adds(prefix)
        row = {"block": name, "mult_adds": mult_adds - previous_mult_adds,
               "mult_adds_share": (mult_adds - previous_mult_adds) / total_mult_adds}
        for count in threads:
            median = timings[name][count]["median_ms"]
            row[f"latency_ms_{count}"] = median - previous_ms[count]
            row[f"latency_share_{count}"] = (median - previous_ms[count]) / timings[whole][count]["median_ms"]
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
