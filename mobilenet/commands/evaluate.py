"""Accuracy of a `.tflite` image classifier on a dataset split, with LiteRT.

  python -m mobilenet.evaluate --tflite model.tflite --dataset imagenette/160px-v2

Works for files made elsewhere too, such as Google's published MobileNet V1 models.
"""

from absl import flags

from mobilenet.commands import cli


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_string("tflite", None, "The .tflite file.", required=True, **define)
    flags.DEFINE_string("dataset", None, "TFDS dataset name or folder:PATH.", required=True, **define)
    flags.DEFINE_string("data_dir", None, "TFDS data directory.", **define)
    flags.DEFINE_string("split", None, "Split to evaluate (default: the dataset's eval split).", **define)
    flags.DEFINE_integer("label_offset", None, "Model outputs before class 0 (default: detected).", **define)
    flags.DEFINE_float("input_mean", None, "float32 inputs: pixel mean (default: metadata, else 0).", **define)
    flags.DEFINE_float("input_std", None, "float32 inputs: pixel std (default: metadata, else 1).", **define)
    flags.DEFINE_integer("threads", 2, "Interpreter threads.", **define)


def main(flag_values, arguments):
    from mobilenet import evaluation  # after the environment is set up: it loads TensorFlow

    results = evaluation.evaluate_tflite(
        flag_values.tflite, flag_values.dataset, flag_values.data_dir, flag_values.split, flag_values.label_offset,
        flag_values.threads, flag_values.input_mean, flag_values.input_std,
    )
    print(f"{flag_values.tflite} on {flag_values.dataset} {results['split']} ({results['examples']} images): "
          f"top-1 {results['tflite_top1']:.4f}, top-5 {results['tflite_top5']:.4f}")


def run(argv=None):
    cli.run_command("mobilenet.evaluate", __doc__, define_flags, main, argv)
