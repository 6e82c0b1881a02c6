"""Classify image files with a `.tflite`, exactly as an app would.

  python -m mobilenet.predict --tflite model.tflite photo.jpg [more.png ...]

Each image is decoded, centrally cropped (87.5 %) and resized to the model's input
size as uint8 pixels, run through LiteRT, and its top-k classes printed with scores.
Class names come from --labels, else the file's metadata, else labels.txt beside it.
"""

import os
import sys

import tensorflow as tf
from absl import app, flags

from mobilenet import input_pipeline
from mobilenet.evaluate import TFLiteClassifier, read_tflite
from mobilenet.cli import flags_parser


def load_labels(classifier, tflite_path, labels_path=None):
    """Class names: from --labels if given, else the file's metadata, else labels.txt beside it."""
    if labels_path is None:
        if classifier.labels:
            return classifier.labels
        labels_path = os.path.join(os.path.dirname(tflite_path), "labels.txt")
        if not os.path.isfile(labels_path):
            return [str(i) for i in range(classifier.num_outputs)]
    elif not os.path.isfile(labels_path):
        raise ValueError(f"--labels {labels_path}: no such file")
    with open(labels_path) as file:
        labels = [line.strip() for line in file if line.strip()]
    if len(labels) != classifier.num_outputs:
        raise ValueError(f"--labels {labels_path} has {len(labels)} names for {classifier.num_outputs} outputs")
    return labels


def classify(classifier, labels, image_path, top_k=5):
    """[(class name, score)] of the `top_k` best classes for one image file."""
    try:
        image_bytes = tf.io.read_file(image_path)
        pixels = input_pipeline.preprocess_for_eval(image_bytes, classifier.resolution).numpy()
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError):
        raise ValueError(f"{image_path} is not a readable image (JPEG, PNG, BMP or GIF)") from None
    scores = classifier(pixels)
    best = scores.argsort()[::-1][:top_k]
    return [(labels[i], float(scores[i])) for i in best]


FLAGS = flags.FLAGS


def main(argv):
    images = argv[1:]
    try:
        if not images:
            raise ValueError("give one or more image files after the flags")
        classifier = TFLiteClassifier(read_tflite(FLAGS.tflite))
        labels = load_labels(classifier, FLAGS.tflite, FLAGS.labels)
        for image_path in images:
            results = classify(classifier, labels, image_path, FLAGS.top_k)
            print(f"{image_path}: " + ", ".join(f"{name} {score:.3f}" for name, score in results))
    except ValueError as error:
        sys.exit(f"mobilenet.predict: error: {error}")


if __name__ == "__main__":
    flags.DEFINE_string("tflite", None, "The .tflite file.", required=True)
    flags.DEFINE_string("labels", None, "Class names, one a line (default: the metadata, else labels.txt beside the file).")
    flags.DEFINE_integer("top_k", 5, "How many classes to print.")
    app.run(main, flags_parser=flags_parser("mobilenet.predict"))
