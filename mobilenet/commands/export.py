"""Exports a trained MobileNet to `.tflite` and reports its accuracy and latency.

  python export_tflite.py --workdir runs/mobilenet_v1_0.50_160              # int8
  python export_tflite.py --workdir runs/mobilenet_v1_0.50_160 --quantization float16
  python export_tflite.py --model my.keras --dataset tf_flowers --output my.tflite
  python export_tflite.py --workdir runs/mobilenet_v1_0.50_160 --resolution 128  # same weights, smaller input
  python export_tflite.py --workdir runs/mobilenet_v1_0.25_96 --target micro    # for a microcontroller

Writes the `.tflite` (with TFLite metadata: normalisation and labels), labels.txt,
<name>.report.json (size, Keras and TFLite accuracy on the eval split overall and per
class, latency at each --threads count beside a float32 file's) and the model card
<name>.md with its pictures. --target micro writes <name>_int8_micro.tflite for TensorFlow
Lite Micro instead (int8 in and out, needs `pip install '.[micro]'`), its C++ sources and
<name>_arena.h beside it, and its flash, arena and TFLM accuracy in the report and card.
"""

from absl import flags

from mobilenet.commands import cli
from mobilenet.exporting import defaults
from mobilenet.measure import latency
from mobilenet.errors import ParameterError


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_string("workdir", None, "A training work directory: exports its best.keras.", **define)
    flags.DEFINE_string("model", None, "A .keras model to export instead of a work directory's (needs --dataset).",
                        **define)
    flags.DEFINE_string("dataset", None, "Dataset for calibration and evaluation (default: the work directory's).",
                        **define)
    flags.DEFINE_string("data_dir", None, "TFDS data directory (default: the work directory's, else TFDS').", **define)
    flags.DEFINE_string("quantization", defaults.QUANTIZATION, "int8 (full integer), float16, dynamic or float32.", **define)
    flags.DEFINE_string("output_type", None, "int8 only: type of the output scores, uint8 (default) or float32.",
                        **define)
    flags.DEFINE_string("input_type", None, "int8 only: type of the input pixels, uint8 (default) or float32 "
                        "(both 0..255).", **define)
    flags.DEFINE_string("output", None, "The .tflite to write (default: in the work directory).", **define)
    flags.DEFINE_integer("representative_samples", defaults.REPRESENTATIVE_SAMPLES, "Training images to calibrate int8 with.", **define)
    flags.DEFINE_integer("resolution", None, "Input side of the file (default: the trained one; another runs the "
                         "same weights).", **define)
    flags.DEFINE_bool("evaluate", True, "Measure Keras and TFLite accuracy on the eval split.", **define)
    flags.DEFINE_enum("target", "phone", ["phone", "micro"], "phone (LiteRT, MediaPipe) or micro (TensorFlow Lite "
                      "Micro on a microcontroller: int8 in and out, with C++ sources; takes no --quantization, "
                      "--input_type or --output_type).", **define)
    flags.DEFINE_list("threads", [str(count) for count in latency.THREADS], "Thread counts to measure latency at (empty: no benchmark).", **define)


def main(flag_values, arguments):
    from mobilenet.exporting import release  # after the environment is set up: it loads TensorFlow

    if arguments:
        raise ParameterError(f"unexpected arguments: {' '.join(arguments)}")
    exported = release.export(
        flag_values.workdir,
        model=flag_values.model,
        dataset=flag_values.dataset,
        data_dir=flag_values.data_dir,
        # For micro, only a --quantization given (its default is the phone's).
        quantization=(flag_values.quantization if flag_values.target != "micro" or flag_values["quantization"].present
                      else None),
        output=flag_values.output,
        representative_samples=flag_values.representative_samples,
        resolution=flag_values.resolution,
        evaluate=flag_values.evaluate,
        threads=cli.parse_threads(flag_values.threads),
        output_type=flag_values.output_type,
        input_type=flag_values.input_type,
        target=flag_values.target,
    )
    print(f"Wrote {exported.tflite}")
    print(release.format_report(exported.report))
    if exported.card:
        print(f"Model card: {exported.card}")


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv)
