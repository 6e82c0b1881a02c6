"""Accuracy of a `.tflite` image classifier on a dataset split, with LiteRT.

`evaluate_tflite(path, dataset)` runs the file through `ai_edge_litert` (the kernels
Android runs) one image at a time, fed as an app feeds it: uint8 inputs get raw RGB
pixels, float32 inputs get `(pixels - mean) / std` with mean and std from the file's
metadata (as MediaPipe does) or as given. Works for files this project did not make,
such as Google's published MobileNet V1 models (1001 outputs, class 0 "background"):
the input size is read from the file and a one-class label offset is detected from the
output size. `python -m mobilenet.evaluate` is its command line.
"""

import os

import numpy as np
import tensorflow_datasets as tfds
from tqdm import tqdm

from mobilenet import input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.litert import TFLiteClassifier, read_tflite

IMAGENET_CLASSES = 1000


def evaluate_tflite(tflite, dataset, data_dir=None, split=None, label_offset=None, threads=2, input_mean=None,
                    input_std=None):
    """Top-1 and top-5 of the `.tflite` file `tflite` on `dataset`'s `split`.

    Args:
      tflite: the file's path.
      dataset: a TFDS image-classification dataset name, or "folder:PATH".
      data_dir: where TFDS keeps prepared datasets (None: TFDS' default).
      split: the split to evaluate; None for the dataset's evaluation split.
      label_offset: model outputs before class 0; None to detect it.
      threads: interpreter threads.
      input_mean, input_std: float32 inputs only; None to read them from the metadata.

    Returns:
      {"tflite_top1", "tflite_top5", "examples", "split"}.
    """
    classifier = TFLiteClassifier(read_tflite(tflite), threads, input_mean, input_std)
    return evaluate(classifier, input_pipeline.load_dataset(dataset, data_dir), split, label_offset)


def label_mapping(num_outputs, class_names, label_offset=None, model_labels=None):
    """An array mapping dataset labels to model output indices.

    A model whose file names the dataset's classes (`model_labels`, from its metadata)
    is mapped by name. Otherwise output k + offset is dataset class k; offset defaults to 1 when the model has one
    more output than the dataset has classes (a "background" class 0). A dataset of
    ImageNet classes (WordNet ids, such as Imagenette) maps onto a 1000-class model's
    ImageNet outputs.
    """
    num_classes = len(class_names)
    if model_labels and label_offset is None:
        if all(name in model_labels for name in class_names):
            return np.array([list(model_labels).index(name) for name in class_names])
        if num_outputs not in (IMAGENET_CLASSES, IMAGENET_CLASSES + 1):  # else WordNet ids may map below
            raise ParameterError(
                f"{{dataset}}: the dataset's classes {_some(class_names)} are not the model's "
                f"{_some(model_labels)}: evaluate on the dataset it was trained on"
            )
    if label_offset is None:
        label_offset = 1 if num_outputs in (num_classes + 1, IMAGENET_CLASSES + 1) else 0
    if num_outputs - label_offset == num_classes:
        return np.arange(num_classes) + label_offset
    if num_outputs - label_offset == IMAGENET_CLASSES:
        wnids = tfds.features.ClassLabel(
            names_file=os.path.join(os.path.dirname(tfds.__file__), "datasets/imagenet2012/labels.txt")
        ).names
        index = {wnid: i for i, wnid in enumerate(wnids)}
        if all(name in index for name in class_names):
            return np.array([index[name] for name in class_names]) + label_offset
    raise ParameterError(
        f"{{dataset}}: the model has {num_outputs} outputs but the dataset has {num_classes} classes: "
        "give {label_offset} (outputs before class 0) or evaluate on the dataset it was trained on"
    )


def evaluate(classifier, dataset, split=None, label_offset=None, keras_model=None, batch_size=32):
    """Top-1 and top-5 of the `.tflite` (and of `keras_model`, with their top-1 agreement)."""
    to_output = label_mapping(classifier.num_outputs, dataset.class_names, label_offset, classifier.labels)
    split = split or dataset.eval_split
    try:
        dataset.num_examples(split)
    except (KeyError, ValueError, AssertionError):
        raise ParameterError(
            f"{{split}} {split!r} is not a split of {dataset.name} (it has {', '.join(dataset.builder.info.splits)})"
        ) from None
    images = input_pipeline.eval_images(dataset, classifier.resolution, batch_size, split=split, cache=False)
    counts = {"tflite_top1": 0, "tflite_top5": 0, "keras_top1": 0, "keras_top5": 0, "top1_agreement": 0}
    total = 0
    for pixels, labels in tqdm(images, total=-(-dataset.num_examples(split) // batch_size), desc=f"evaluating {split}", unit="batch"):
        targets = to_output[labels.numpy()]
        tflite_scores = np.stack([classifier(image) for image in pixels.numpy()])
        _count(counts, "tflite", tflite_scores, targets)
        if keras_model is not None:
            keras_scores = keras_model.predict_on_batch(pixels)
            # Keras' outputs are dataset classes; place them where the file's outputs are.
            keras_scores = np.pad(keras_scores, ((0, 0), (to_output[0], 0)))
            _count(counts, "keras", keras_scores, targets)
            counts["top1_agreement"] += int(np.sum(keras_scores.argmax(1) == tflite_scores.argmax(1)))
        total += len(targets)
    results = {"examples": total, "split": split}
    for key, value in counts.items():
        if keras_model is not None or key.startswith("tflite"):
            results[key] = value / total
    return results


def _some(names, shown=5):
    return "(" + ", ".join(names[:shown]) + (", ...)" if len(names) > shown else ")")


def _count(counts, prefix, scores, targets):
    top5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    counts[f"{prefix}_top1"] += int(np.sum(top5[:, 0] == targets))
    counts[f"{prefix}_top5"] += int(np.sum(np.any(top5 == targets[:, None], axis=1)))

