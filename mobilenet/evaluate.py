"""Accuracy of a `.tflite` image classifier on a dataset split, with LiteRT.

  python -m mobilenet.evaluate --tflite model.tflite --dataset imagenette/160px-v2

Runs the file through `ai_edge_litert` (the kernels Android runs) one image at a time,
fed as an app feeds it: uint8 inputs get raw RGB pixels, float32 inputs get
`(pixels - mean) / std` with mean and std from the file's metadata (as MediaPipe does)
or from flags. Works for files this project did not make, such as Google's published
MobileNet V1 models (1001 outputs, class 0 "background"): the input size is read from
the file and a one-class label offset is detected from the output size.
"""

import os
import sys

import numpy as np
import tensorflow_datasets as tfds
from absl import app, flags
from ai_edge_litert.interpreter import Interpreter
from tqdm import tqdm

from mobilenet import input_pipeline, metadata
from mobilenet.cli import flags_parser, one_line

IMAGENET_CLASSES = 1000


def read_tflite(path):
    """The bytes of a `.tflite` file; ValueError if it is missing or not a flatbuffer."""
    if not os.path.isfile(path):
        raise ValueError(f"--tflite {path}: no such file")
    with open(path, "rb") as file:
        content = file.read()
    if content[4:8] != b"TFL3":
        raise ValueError(f"--tflite {path} is not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        Interpreter(model_content=content)  # verifies the whole flatbuffer
    except ValueError as error:
        raise ValueError(f"--tflite {path} is not a complete TFLite model: {one_line(error)}") from None
    return content


class TFLiteClassifier:
    """An image-classifier `.tflite` in the LiteRT interpreter, fed like an app feeds it."""

    def __init__(self, content, num_threads=None, input_mean=None, input_std=None):
        self.interpreter = Interpreter(model_content=content, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        if len(self.input["shape"]) != 4 or self.input["shape"][3] != 3:
            raise ValueError(f"the model's input is {list(self.input['shape'])}, not an RGB image [1, H, W, 3]")
        if self.input["dtype"] not in (np.uint8, np.float32):
            # MediaPipe's ImageClassifier accepts no other input types either.
            raise ValueError(f"the model's input is {np.dtype(self.input['dtype']).name}; only uint8 and float32 are supported")
        self.resolution = int(self.input["shape"][1])
        try:
            info = metadata.read_metadata(content)
        except ValueError:
            info = {}
        self.labels = info.get("labels") or None
        self.input_mean = input_mean if input_mean is not None else info.get("input_mean", 0.0)
        self.input_std = input_std if input_std is not None else info.get("input_std", 1.0)

    @property
    def num_outputs(self):
        return int(self.output["shape"][-1])

    def __call__(self, pixels):
        """Class scores (float, dequantized) for one uint8 (H, W, 3) image."""
        if self.input["dtype"] == np.uint8:
            image = np.asarray(pixels, np.uint8)
        else:
            image = (np.asarray(pixels, np.float32) - self.input_mean) / self.input_std
        self.interpreter.set_tensor(self.input["index"], image[None])
        self.interpreter.invoke()
        scores = self.interpreter.get_tensor(self.output["index"])[0]
        scale, zero_point = self.output["quantization"]
        if scale:
            return (scores.astype(np.float32) - zero_point) * scale
        return scores.astype(np.float32)


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
            raise ValueError(
                f"the dataset's classes {_some(class_names)} are not the model's {_some(model_labels)}: "
                "evaluate on the dataset it was trained on"
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
    raise ValueError(
        f"the model has {num_outputs} outputs but the dataset has {num_classes} classes: "
        "give --label_offset (outputs before class 0) or evaluate on the dataset it was trained on"
    )


def evaluate(classifier, dataset, split=None, label_offset=None, keras_model=None, batch_size=32):
    """Top-1 and top-5 of the `.tflite` (and of `keras_model`, with their top-1 agreement)."""
    to_output = label_mapping(classifier.num_outputs, dataset.class_names, label_offset, classifier.labels)
    split = split or dataset.eval_split
    try:
        dataset.num_examples(split)
    except (KeyError, ValueError, AssertionError):
        raise ValueError(
            f"--split {split!r} is not a split of {dataset.name} (it has {', '.join(dataset.builder.info.splits)})"
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


FLAGS = flags.FLAGS


def main(argv):
    del argv
    try:
        if FLAGS.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {FLAGS.threads}")
        classifier = TFLiteClassifier(read_tflite(FLAGS.tflite), FLAGS.threads, FLAGS.input_mean, FLAGS.input_std)
        dataset = input_pipeline.load_dataset(FLAGS.dataset, FLAGS.data_dir)
        results = evaluate(classifier, dataset, FLAGS.split, FLAGS.label_offset)
    except ValueError as error:
        sys.exit(f"mobilenet.evaluate: error: {error}")
    print(f"{FLAGS.tflite} on {FLAGS.dataset} {results['split']} ({results['examples']} images): "
          f"top-1 {results['tflite_top1']:.4f}, top-5 {results['tflite_top5']:.4f}")


if __name__ == "__main__":
    flags.DEFINE_string("tflite", None, "The .tflite file.", required=True)
    flags.DEFINE_string("dataset", None, "TFDS dataset name or folder:PATH.", required=True)
    flags.DEFINE_string("data_dir", None, "TFDS data directory.")
    flags.DEFINE_string("split", None, "Split to evaluate (default: the dataset's eval split).")
    flags.DEFINE_integer("label_offset", None, "Model outputs before class 0 (default: detected).")
    flags.DEFINE_float("input_mean", None, "float32 inputs: pixel mean (default: metadata, else 0).")
    flags.DEFINE_float("input_std", None, "float32 inputs: pixel std (default: metadata, else 1).")
    flags.DEFINE_integer("threads", 2, "Interpreter threads.")
    app.run(main, flags_parser=flags_parser("mobilenet.evaluate"))
