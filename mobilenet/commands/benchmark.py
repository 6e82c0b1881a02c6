"""On-device-equivalent latency of a `.tflite`: batch 1, LiteRT with XNNPACK.

  python -m mobilenet.benchmark --tflite model.tflite --threads 1,2
"""

from absl import flags

from mobilenet.commands import cli


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_string("tflite", None, "The .tflite file.", required=True, **define)
    flags.DEFINE_list("threads", ["1", "2"], "Thread counts, comma-separated.", **define)
    flags.DEFINE_integer("warmup", 20, "Untimed invocations first.", **define)
    flags.DEFINE_integer("runs", 200, "Timed invocations.", **define)


def main(flag_values, arguments):
    from mobilenet import latency, litert

    content = litert.read_tflite(flag_values.tflite)
    results = latency.measure_latency(content, cli.parse_threads(flag_values.threads), flag_values.warmup,
                                      flag_values.runs)
    print(f"{flag_values.tflite}: batch 1, LiteRT + XNNPACK, {flag_values.runs} runs after {flag_values.warmup} warm-up")
    print(latency.format_results(results, latency.mult_adds(content)))


def run(argv=None):
    cli.run_command("mobilenet.benchmark", __doc__, define_flags, main, argv)
