"""Exports a trained MobileNet to `.tflite` and reports its accuracy and latency.

  python export_tflite.py --workdir runs/mobilenet_v1_0.50_160              # int8
  python export_tflite.py --workdir runs/mobilenet_v1_0.50_160 --quantization float16
  python export_tflite.py --model my.keras --dataset tf_flowers --output my.tflite
  python export_tflite.py --workdir runs/mobilenet_v1_0.50_160 --resolution 128  # same weights, smaller input

Writes the `.tflite` (with TFLite metadata: normalisation and labels), labels.txt and
<name>.report.json: size, Keras and TFLite top-1/top-5 on the eval split, how often
they agree, and latency at each --threads count.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

from mobilenet import export, release
from mobilenet.cli import flags_parser

flags.DEFINE_string("workdir", None, "A training work directory: exports its best.keras.")
flags.DEFINE_string("model", None, "A .keras model to export instead of a work directory's (needs --dataset).")
flags.DEFINE_string("dataset", None, "Dataset for calibration and evaluation (default: the work directory's).")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: the work directory's, else TFDS').")
flags.DEFINE_enum("quantization", "int8", export.QUANTIZATIONS, "int8 (full integer), float16, dynamic or float32.")
flags.DEFINE_enum("output_type", "uint8", export.OUTPUT_TYPES, "int8 only: type of the output scores.")
flags.DEFINE_enum("input_type", "uint8", export.INPUT_TYPES, "int8 only: type of the input pixels (both 0..255).")
flags.DEFINE_string("output", None, "The .tflite to write (default: in the work directory).")
flags.DEFINE_integer("representative_samples", 300, "Training images to calibrate int8 with.")
flags.DEFINE_integer("resolution", None, "Input side of the file (default: the trained one; another runs the same weights).")
flags.DEFINE_bool("evaluate", True, "Measure Keras and TFLite accuracy on the eval split.")
flags.DEFINE_list("threads", ["1", "2"], "Thread counts to measure latency at (empty: no benchmark).")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        sys.exit(f"export_tflite.py: error: unexpected arguments: {' '.join(argv[1:])}")
    try:
        if FLAGS.workdir and FLAGS.model:
            raise ValueError("give --workdir or --model, not both")
        for name in ("output_type", "input_type"):
            if FLAGS[name].present and FLAGS.quantization != "int8":
                raise ValueError(f"--{name} is for --quantization int8 only (a {FLAGS.quantization} file is float32 "
                                 "at both ends)")
        if not all(t.isdigit() and int(t) >= 1 for t in FLAGS.threads):
            raise ValueError(f"--threads takes integers >= 1, comma-separated, got {','.join(FLAGS.threads)}")
        threads = tuple(int(t) for t in FLAGS.threads)
        options = dict(
            resolution=FLAGS.resolution,
            quantization=FLAGS.quantization,
            output_type=FLAGS.output_type,
            input_type=FLAGS.input_type,
            representative_samples=FLAGS.representative_samples,
            evaluate=FLAGS.evaluate,
            threads=threads,
            output=FLAGS.output,
            dataset=FLAGS.dataset,
            data_dir=FLAGS.data_dir,
        )
        if FLAGS.workdir:
            job = release.from_workdir(FLAGS.workdir, **options)
        elif FLAGS.model and FLAGS.dataset:
            options["output"] = FLAGS.output or os.path.splitext(FLAGS.model)[0] + f"_{FLAGS.quantization}.tflite"
            job = release.Release(model_path=FLAGS.model, **options)
        else:
            raise ValueError("give --workdir (a training run), or --model with --dataset")
        report = release.run(job)
    except ValueError as error:
        sys.exit(f"export_tflite.py: error: {error}")
    print(f"Wrote {job.output}")
    print(release.format_report(report))


if __name__ == "__main__":
    app.run(main, flags_parser=flags_parser("export_tflite.py"))
