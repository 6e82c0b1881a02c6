"""On-device-equivalent latency of a `.tflite`: batch 1, LiteRT with XNNPACK.

  python -m mobilenet benchmark --tflite model.tflite --threads 1,2
  python -m mobilenet benchmark --tflite runs/.../model_int8.tflite --per_layer   # by block, with a chart
"""

import os

from absl import flags

from mobilenet.commands import cli
from mobilenet.measure import latency


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_string("tflite", None, "The .tflite file.", required=True, **define)
    flags.DEFINE_list("threads", [str(count) for count in latency.THREADS], "Thread counts, comma-separated.", **define)
    flags.DEFINE_integer("warmup", latency.WARMUP_RUNS, "Untimed invocations first.", **define)
    flags.DEFINE_integer("runs", latency.TIMED_RUNS, "Timed invocations.", **define)
    flags.DEFINE_bool("per_layer", False, "Latency by block (a file made here: its training run's best.keras, or "
                      "--model), beside LiteRT's own litert-benchmark on the whole file; writes <file>.blocks.png.",
                      **define)
    flags.DEFINE_string("model", None, "--per_layer: the file's .keras model (default: the training run's "
                        "best.keras beside the file).", **define)


def main(flag_values, arguments):
    from mobilenet.flatbuffer import graph
    from mobilenet.measure import litert

    threads = cli.parse_threads(flag_values.threads)
    if flag_values.per_layer:
        return _per_layer(flag_values, threads)
    content = litert.read_tflite(flag_values.tflite)
    results = latency.measure_latency(content, threads, flag_values.warmup, flag_values.runs)
    print(f"{flag_values.tflite}: batch 1, LiteRT + XNNPACK, {flag_values.runs} runs after {flag_values.warmup} warm-up")
    print(latency.format_results(results, graph.mult_adds(content)))


def _per_layer(flag_values, threads):
    from mobilenet import figures, files, names
    from mobilenet.exporting import comparison
    from mobilenet.measure import layer_latency

    chart = names.picture_path(flag_values.tflite, "blocks")
    files.check_writable(chart, "tflite")
    rows, file_latency = comparison.block_latency(flag_values.tflite, flag_values.model, threads, flag_values.runs)
    print(f"{flag_values.tflite}: latency by block, batch 1, LiteRT + XNNPACK, median of {flag_values.runs} runs")
    print(layer_latency.format_rows(rows, file_latency))
    theirs = layer_latency.litert_benchmark(flag_values.tflite, threads, flag_values.runs)
    if theirs:
        print("litert-benchmark (LiteRT's own) on the whole file, median: " + "; ".join(
            f"{count} thread(s) {theirs[count]:.3f} ms against ours {file_latency[count]:.3f} ms "
            f"({theirs[count] / file_latency[count]:.2f}x)" for count in threads))
    figures.block_latency(rows, chart, os.path.basename(flag_values.tflite))
    print(f"Chart: {chart}")


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv)
