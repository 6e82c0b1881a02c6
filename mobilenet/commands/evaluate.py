"""Accuracy of a `.tflite` on a dataset split, with LiteRT: overall, per class, against Keras.

  python -m mobilenet evaluate --tflite model.tflite --dataset imagenette/160px-v2 [--json OUT.json]

The float model is the training run's best.keras when the file sits in its work directory,
or --model. Works for files made elsewhere too, such as Google's published MobileNet V1
models. --json also writes OUT.confusion.png and OUT.mistakes.png beside it.
"""

import json
import os

from absl import flags

from mobilenet.commands import cli


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_string("tflite", None, "The .tflite file.", required=True, **define)
    flags.DEFINE_string("dataset", None, "TFDS dataset name or folder:PATH.", required=True, **define)
    flags.DEFINE_string("data_dir", None, "TFDS data directory.", **define)
    flags.DEFINE_string("split", None, "Split to evaluate (default: the dataset's test split, else its validation "
                        "split).", **define)
    flags.DEFINE_integer("label_offset", None, "Model outputs before class 0 (default: detected).", **define)
    flags.DEFINE_float("input_mean", None, "float32 inputs: pixel mean (default: metadata, else 0).", **define)
    flags.DEFINE_float("input_std", None, "float32 inputs: pixel std (default: metadata, else 1).", **define)
    flags.DEFINE_integer("threads", 2, "Interpreter threads.", **define)
    flags.DEFINE_string("model", None, "A .keras float model to compare with (default: the training run's "
                        "best.keras beside the file, if any).", **define)
    flags.DEFINE_string("json", None, "Write the results here as JSON (and the pictures beside it).", **define)


def main(flag_values, arguments):
    from mobilenet import figures, files, names  # after the environment is set up
    from mobilenet.data import class_names
    from mobilenet.exporting import comparison
    from mobilenet.measure import evaluation

    if flag_values.json:
        files.check_writable(flag_values.json, "json")  # before the work, not after it
    results = comparison.evaluate_tflite(
        flag_values.tflite, flag_values.dataset, flag_values.data_dir, flag_values.split, flag_values.label_offset,
        flag_values.threads, flag_values.input_mean, flag_values.input_std, flag_values.model,
    )
    print(f"{flag_values.tflite} on {flag_values.dataset} {results.split} ({results.examples} images):")
    print(evaluation.format_evaluation(results))
    if flag_values.json:
        files.write_atomically(flag_values.json, json.dumps(results.to_json(), indent=1) + "\n")
        rows, columns = class_names.readable(results.class_names), class_names.readable(results.columns)
        pictures = [figures.confusion_matrix(results.tflite.confusion_matrix, rows, columns, names.picture_path(flag_values.json, "confusion"),
                                             os.path.basename(flag_values.tflite)),
                    figures.mistakes(results.mistakes, names.picture_path(flag_values.json, "mistakes"), dict(zip(results.columns, columns)))]
        print("Wrote " + ", ".join([flag_values.json] + [path for path in pictures if path]))


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv)
