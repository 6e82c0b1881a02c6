"""Classify image files with a `.tflite`, exactly as an app would.

Each image is read as a viewer shows it (turned upright by its EXIF orientation,
transparency laid on white: mobilenet.data.photo_files), decoded, centrally cropped and
resized to the model's input size as uint8 pixels, as the file's preprocessing says
(`input_pipeline.preprocess_for_eval`, the evaluation's own), run through LiteRT, and its top-k classes returned with scores. Class
names come from `labels`, else the file's metadata, else labels.txt beside it.
`python -m mobilenet predict` is its command line.
"""

import os

import tensorflow as tf

from mobilenet import names
from mobilenet.data import input_pipeline, photo_files
from mobilenet.errors import ParameterError
from mobilenet.measure.litert import TFLiteClassifier, read_tflite


def classify(tflite, images, top_k=5, labels=None):
    """{image path: [(class name, score), ...]} of the `top_k` best classes of each image.

    Args:
      tflite: the `.tflite` file's path.
      images: image file paths (input_pipeline.READABLE_FORMATS).
      top_k: how many classes to return per image.
      labels: a file of class names, one a line; None for the file's metadata, else
        labels.txt beside the file, else class indices.

    >>> classify("model.tflite", ["photo.jpg"])["photo.jpg"][0]   # ('macaw', 0.93)
    """
    if top_k < 1:
        raise ParameterError(f"{{top_k}} must be >= 1, got {top_k}")
    classifier = TFLiteClassifier(read_tflite(tflite))
    names = load_labels(classifier, tflite, labels)
    return {image: classify_image(classifier, names, image, top_k) for image in images}


def load_labels(classifier, tflite_path, labels_path=None):
    """Class names: from `labels_path` if given, else the file's metadata (its display names,
    "cassette player", when it carries them; else its labels), else labels.txt beside it."""
    if labels_path is None:
        if classifier.labels:
            return classifier.display_names or classifier.labels
        labels_path = names.labels_path(tflite_path)
        if not os.path.isfile(labels_path):
            return [str(i) for i in range(classifier.num_outputs)]
    elif not os.path.isfile(labels_path):
        raise ParameterError(f"{{labels}} {labels_path}: no such file")
    with open(labels_path) as file:
        labels = [line.strip() for line in file if line.strip()]
    if len(labels) != classifier.num_outputs:
        raise ParameterError(f"{{labels}} {labels_path} has {len(labels)} names for {classifier.num_outputs} outputs")
    return labels


def classify_image(classifier, labels, image_path, top_k=5):
    """[(class name, score)] of the `top_k` best classes for one image file."""
    try:
        image_bytes = photo_files.read(image_path)  # as a viewer shows it: upright, transparency on white
        pixels = input_pipeline.preprocess_for_eval(image_bytes, classifier.resolution,
                                                    classifier.preprocessing.crop_fraction).numpy()
    except (OSError, tf.errors.InvalidArgumentError):
        raise ParameterError(f"{image_path} is not a readable image ({input_pipeline.READABLE_FORMATS})", "images") from None
    scores = classifier(pixels)
    best = scores.argsort()[::-1][:top_k]
    return [(labels[i], float(scores[i])) for i in best]
