"""On-device-equivalent latency of a `.tflite`, in the spirit of TFLite's benchmark_model.

Batch 1 through the LiteRT interpreter with its default XNNPACK delegate (the CPU
kernels Android uses), the thread count fixed when the interpreter is created. Reports
the median, p90, min, mean and standard deviation of `invoke()` in milliseconds, and
the mult-adds per second that makes, counted from the file's own convolutions.
`python -m mobilenet benchmark` is its command line.
"""

import multiprocessing
import time
from concurrent import futures

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from mobilenet.errors import ParameterError
from mobilenet.flatbuffer import graph
from mobilenet.measure.litert import check_threads, read_tflite

THREADS = (1, 2)  # thread counts timed unless told otherwise (a phone's big cores: 1 to 4)
WARMUP_RUNS = 20  # untimed invocations first
TIMED_RUNS = 200
BLOCK = 25  # runs of one file in a row, when several are timed interleaved
REWARM = 3  # untimed invocations before each block


def _time_interleaved(contents, num_threads, warmup, runs):
    """{name: latency statistics in ms} of `runs` invocations of each file in `contents`.

    Several files are timed interleaved, in blocks of BLOCK runs taken in turn (each
    after a few untimed ones, as its threads have idled meanwhile), so that a passing
    disturbance of the machine falls on all of them alike.
    """
    interpreters = {name: _ready_interpreter(content, num_threads) for name, content in contents.items()}
    for interpreter in interpreters.values():
        for _ in range(warmup):
            interpreter.invoke()
    names = list(interpreters)
    times = {name: [] for name in names}
    for turn in range(-(-runs // BLOCK)):
        for name in names[turn % len(names):] + names[: turn % len(names)]:  # who goes first rotates
            interpreter = interpreters[name]
            for _ in range(REWARM if len(names) > 1 else 0):
                interpreter.invoke()
            for _ in range(min(BLOCK, runs - len(times[name]))):
                start = time.perf_counter_ns()
                interpreter.invoke()
                times[name].append((time.perf_counter_ns() - start) / 1e6)
    return {name: _statistics(np.array(samples)) for name, samples in times.items()}


def _ready_interpreter(content, num_threads):
    interpreter = Interpreter(model_content=content, num_threads=num_threads)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        if np.issubdtype(detail["dtype"], np.integer):
            info = np.iinfo(detail["dtype"])
            data = rng.integers(info.min, info.max, detail["shape"], endpoint=True)
        else:
            data = rng.uniform(0, 255, detail["shape"])
        interpreter.set_tensor(detail["index"], data.astype(detail["dtype"]))
    return interpreter


def _statistics(times):
    return {
        "median_ms": float(np.median(times)),
        "p90_ms": float(np.percentile(times, 90)),
        "min_ms": float(times.min()),
        "mean_ms": float(times.mean()),
        "std_ms": float(times.std()),
    }


def compare(contents, threads=THREADS, warmup=WARMUP_RUNS, runs=TIMED_RUNS):
    """{name: {threads: latency statistics plus G mult-adds/s at the median}} of the
    files in `contents` ({name: flatbuffer bytes}), timed interleaved at each thread count."""
    if not threads:
        raise ParameterError("{threads} needs at least one thread count")
    check_threads(threads)
    if warmup < 0:
        raise ParameterError(f"{{warmup}} must be >= 0, got {warmup}")
    if runs < 1:
        raise ParameterError(f"{{runs}} must be >= 1, got {runs}")
    total = {name: graph.mult_adds(content) for name, content in contents.items()}
    results = {name: {} for name in contents}
    for num_threads in threads:
        for name, stats in _time_interleaved(contents, num_threads, warmup, runs).items():
            stats["g_mult_adds_per_s"] = total[name] / stats["median_ms"] / 1e6
            results[name][num_threads] = stats
    return results


def measure_latency(tflite, threads=THREADS, warmup=WARMUP_RUNS, runs=TIMED_RUNS):
    """{threads: latency statistics plus G mult-adds/s at the median} of one `.tflite`
    (a path, or the file's bytes), timed in this process.

    >>> measure_latency("model.tflite", threads=(1, 2))[1]["median_ms"]
    """
    content = tflite if isinstance(tflite, bytes) else read_tflite(tflite)
    return compare({"": content}, tuple(threads), warmup, runs)[""]


def compare_in_fresh_process(contents, threads=THREADS, warmup=WARMUP_RUNS, runs=TIMED_RUNS):
    """compare() in a fresh process, as benchmark_model runs: TensorFlow's own threads,
    left busy by a training, export or evaluation in this process, must not share the cores."""
    with futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(compare, contents, tuple(threads), warmup, runs).result()


def format_results(results, total_mult_adds):
    lines = [f"{total_mult_adds / 1e6:.1f} M mult-adds",
             f"{'threads':>7} {'median':>9} {'p90':>9} {'min':>9} {'mean':>9} {'std':>9} {'G mult-adds/s':>14}"]
    for num_threads, s in results.items():
        lines.append(
            f"{num_threads:>7} {s['median_ms']:>7.3f}ms {s['p90_ms']:>7.3f}ms {s['min_ms']:>7.3f}ms "
            f"{s['mean_ms']:>7.3f}ms {s['std_ms']:>7.3f}ms {s['g_mult_adds_per_s']:>14.1f}"
        )
    return "\n".join(lines)

