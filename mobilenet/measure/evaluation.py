"""Accuracy of a `.tflite` image classifier on a dataset split, with LiteRT.

`evaluate(classifier, dataset)` runs the file (a mobilenet.measure.litert.TFLiteClassifier)
one image at a time, fed as an app feeds it: uint8 inputs get raw RGB pixels, float32
inputs get `(pixels - mean) / std` with mean and std from the file's metadata (as MediaPipe
does) or as given, each picture cropped as the file's preprocessing says. Works for files
this project did not make, such as Google's published MobileNet V1 models (1001 outputs,
class 0 "background"): the input size is read from the file and a one-class label offset is
detected from the output size. Whoever holds the float model the file came from passes its
scores (`reference`), and the two are compared on the same pixels:
mobilenet.exporting.comparison.evaluate_tflite does, and `python -m mobilenet evaluate`.
"""

import dataclasses
import os

import numpy as np
import tensorflow_datasets as tfds
from tqdm import tqdm

from mobilenet import intervals
from mobilenet.data import class_names, input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.measure import class_metrics

IMAGENET_CLASSES = 1000


def format_evaluation(evaluation, shown=5):
    """The text a person reads: overall, per class, what int8 lost against float, confusions."""
    names = dict(zip(evaluation.columns, class_names.readable(evaluation.columns)))
    file, float_model = evaluation.tflite, evaluation.keras
    lines = [f"top-1 {intervals.describe(file.top1, evaluation.examples)}, top-5 {file.top5:.4f}; macro precision "
             f"{file.macro['precision']:.4f}, recall {file.macro['recall']:.4f}, F1 {file.macro['f1']:.4f}"]
    if float_model is not None:
        lines.append(f"Keras float model: top-1 {intervals.describe(float_model.top1, evaluation.examples)}, top-5 "
                     f"{float_model.top5:.4f}; "
                     f"same top-1 class as the file on {evaluation.top1_agreement:.2%} of the images")
    width = max(len(name) for name in names.values())
    lines += ["", f"{'class':<{width}}  precision  recall  recall 95 %      F1  support"
              + ("  float recall" if float_model else "")]
    for index, row in enumerate(file.per_class):
        extra = f"  {float_model.per_class[index]['recall']:>12.4f}" if float_model else ""
        low, high = intervals.wilson(row["recall"], row["support"])
        lines.append(f"{names[row['class']]:<{width}}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  "
                     f"{low:.2f}-{high:.2f}    {row['f1']:>6.4f}  {row['support']:>7}{extra}")
    if float_model is not None:
        losses = [(name, before, after) for name, before, after
                  in class_metrics.recall_changes(file.per_class, float_model.per_class, shown) if after < before]
        lines += ["", "recall the file lost against the float model, most first:"]
        lines += [f"  {names[name]}: {before:.4f} -> {after:.4f} ({100 * (after - before):+.1f} points)"
                  for name, before, after in losses] or ["  none"]
    confusions = class_metrics.top_confusions(file.confusion_matrix, evaluation.class_names, shown)
    lines += ["", "most frequent confusions (true -> predicted: images):"]
    lines += [f"  {names[true]} -> {names[predicted]}: {count}" for true, predicted, count in confusions] or ["  none"]
    return "\n".join(lines)


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


@dataclasses.dataclass
class ClassReport:
    """One model's accuracy on the evaluated images, overall and per class."""

    top1: float
    top5: float
    confusion_matrix: np.ndarray  # rows: true class; columns: predicted class (+ OTHER), label order
    per_class: list  # {class, precision, recall, f1, support}
    macro: dict  # unweighted means of precision, recall, F1

    def to_json(self):
        return {"top1": self.top1, "top5": self.top5, "per_class": self.per_class, "macro": self.macro,
                "confusion_matrix": self.confusion_matrix.tolist()}


@dataclasses.dataclass
class Mistake:
    pixels: np.ndarray  # the uint8 image the model saw
    true: str
    predicted: str
    score: float


@dataclasses.dataclass
class Evaluation:
    """What `evaluate` measured: the file's report, the float model's when it was given,
    and the file's most confident mistakes."""

    split: str
    examples: int
    class_names: list  # the dataset's, in label order
    columns: list  # the confusion matrices' columns: class_names, then OTHER if the model has more outputs
    tflite: ClassReport
    keras: ClassReport = None
    top1_agreement: float = None
    mistakes: list = dataclasses.field(default_factory=list)

    def summary(self):
        """The overall figures as flat keys (tflite_top1, keras_top1, top1_agreement, ...), with
        the 95 % interval of each top-1 (tflite_top1_interval, ...) below intervals.SMALL images."""
        summary = {"examples": self.examples, "split": self.split, "tflite_top1": self.tflite.top1,
                   "tflite_top5": self.tflite.top5}
        if self.keras is not None:
            summary.update(keras_top1=self.keras.top1, keras_top5=self.keras.top5, top1_agreement=self.top1_agreement)
        if self.examples < intervals.SMALL:
            for key in [key for key in summary if key.endswith("_top1")]:
                summary[f"{key}_interval"] = list(intervals.wilson(summary[key], self.examples))
        return summary

    def to_json(self):
        """The file's figures at the top level (top1, top5, per_class, confusion_matrix), the
        float model's under "keras"."""
        result = {"split": self.split, "examples": self.examples, "classes": self.class_names,
                  "columns": self.columns, **self.tflite.to_json()}
        if self.keras is not None:
            result["keras"] = self.keras.to_json()
            result["top1_agreement"] = self.top1_agreement
        return result


class _Tally:
    """Predictions of one model, batch by batch."""

    def __init__(self, to_class):
        self.to_class = to_class  # output index -> dataset class (len(classes) for OTHER)
        self.predicted, self.top5_hits = [], 0

    def add(self, scores, targets):
        top5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
        self.predicted.append(self.to_class[top5[:, 0]])
        self.top5_hits += int(np.sum(np.any(top5 == targets[:, None], axis=1)))

    def report(self, true, class_names, other_column):
        predicted = np.concatenate(self.predicted)
        matrix = class_metrics.confusion_matrix(true, predicted, len(class_names), other_column)
        rows = class_metrics.per_class(matrix, class_names)
        return ClassReport(float(np.mean(predicted == true)), self.top5_hits / len(true), matrix, rows,
                           class_metrics.macro_average(rows))


def evaluate(classifier, dataset, split=None, label_offset=None, reference=None, batch_size=32, mistakes=16):
    """The `.tflite`'s accuracy on `split`, overall and per class, and the float model's
    beside it when `reference` (a function of a uint8 image batch returning its class
    scores, one per dataset class) is given.

    Returns an `Evaluation`, with the file's `mistakes` most confident wrong answers.
    """
    to_output = label_mapping(classifier.num_outputs, dataset.class_names, label_offset, classifier.labels)
    split = split or dataset.test_split
    try:
        dataset.num_examples(split)
    except (KeyError, ValueError, AssertionError):
        raise ParameterError(
            f"{{split}} {split!r} is not a split of {dataset.name} (it has {', '.join(dataset.splits)})"
        ) from None
    class_names = list(dataset.class_names)
    to_class = np.full(classifier.num_outputs, len(class_names))
    to_class[to_output] = np.arange(len(class_names))
    other_column = classifier.num_outputs > len(class_names)
    columns = class_names + [class_metrics.OTHER] * other_column
    tallies = {"tflite": _Tally(to_class)} | ({"keras": _Tally(to_class)} if reference is not None else {})
    true, agreeing, confident_mistakes = [], 0, []
    images = input_pipeline.eval_images(dataset, classifier.resolution, batch_size, split=split, cache=False,
                                        crop_fraction=classifier.preprocessing.crop_fraction)
    # No bar where the output is no terminal (a log file, CI): tqdm's disable=None.
    for pixels, labels in tqdm(images, total=-(-dataset.num_examples(split) // batch_size), desc=f"evaluating {split}",
                               unit="batch", disable=None):
        labels, pixels = labels.numpy(), pixels.numpy()
        targets = to_output[labels]
        true.append(labels)
        tflite_scores = np.stack([classifier(image) for image in pixels])
        tallies["tflite"].add(tflite_scores, targets)
        for index in np.flatnonzero(tflite_scores.argmax(1) != targets):
            best = tflite_scores[index].argmax()
            confident_mistakes.append(Mistake(pixels[index], class_names[labels[index]], columns[to_class[best]],
                                              float(tflite_scores[index, best])))
        confident_mistakes = sorted(confident_mistakes, key=lambda mistake: -mistake.score)[:mistakes]
        if reference is not None:
            keras_scores = np.asarray(reference(pixels))
            # Keras' outputs are dataset classes; place them where the file's outputs are.
            keras_scores = np.pad(keras_scores, ((0, 0), (to_output[0], classifier.num_outputs - to_output[-1] - 1)))
            tallies["keras"].add(keras_scores, targets)
            agreeing += int(np.sum(keras_scores.argmax(1) == tflite_scores.argmax(1)))
    true = np.concatenate(true)
    reports = {name: tally.report(true, class_names, other_column) for name, tally in tallies.items()}
    return Evaluation(split, len(true), class_names, columns, reports["tflite"], reports.get("keras"),
                      agreeing / len(true) if reference is not None else None, confident_mistakes)


def _some(names, shown=5):
    return "(" + ", ".join(names[:shown]) + (", ...)" if len(names) > shown else ")")
