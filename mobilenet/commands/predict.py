"""Classify image files with a `.tflite`, exactly as an app would.

  python -m mobilenet predict --tflite model.tflite photo.jpg [more.png ...]

Prints each image's top-k classes with their scores. Class names come from --labels,
else the file's metadata, else labels.txt beside it.
"""

from absl import flags

from mobilenet.commands import cli
from mobilenet.errors import ParameterError


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    flags.DEFINE_string("tflite", None, "The .tflite file.", required=True, **define)
    flags.DEFINE_string("labels", None, "Class names, one a line (default: the metadata, else labels.txt beside "
                        "the file).", **define)
    flags.DEFINE_integer("top_k", 5, "How many classes to print.", **define)


def main(flag_values, arguments):
    from mobilenet.measure import prediction

    if not arguments:
        raise ParameterError("give one or more image files after the flags", "images")
    results = prediction.classify(flag_values.tflite, arguments, flag_values.top_k, flag_values.labels)
    for image, classes in results.items():
        print(f"{image}: " + ", ".join(f"{name} {score:.3f}" for name, score in classes))


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv)
