"""Knowledge distillation: a trained teacher's scores as a second target for the student.

The paper made its small face-attribute MobileNets accurate this way: trained on a large
model's outputs (§4.4, after Hinton et al. 2015). Here the teacher (config.teacher: a
`.keras` classifier over the same classes, of any α, ρ or architecture that takes raw
pixels) runs in inference mode on each training batch exactly as the student sees it,
after the crop, the flip and MixUp or CutMix (Beyer et al. 2022, "a good teacher is patient
and consistent"), resized to its own input size. It runs inside the `tf.data` pipeline and
its scores travel after the labels in the targets, so the model that trains, resumes and
is saved (best.keras, final.keras, the export) is the student alone.

The loss (`ClassificationLoss`, Keras' knowledge-distillation example):

  distillation_weight · T² · KL(teacher_T ‖ student_T) + (1 − distillation_weight) · CE(labels, student)

where p_T = softmax(log p / T) softens both at temperature T, and CE is the usual
cross-entropy with label smoothing. Without a teacher's scores in the targets (no
teacher, or the validation data) it is CE alone; `TopKAccuracy` reads the labels alone.
"""

import os

import keras
import tensorflow as tf

from mobilenet import names
from mobilenet.errors import ParameterError
from mobilenet.model import network

PROBABILITY_FLOOR = 1e-7  # log(0) is not a number; Keras' cross-entropy clips alike


def load_teacher(path, class_names):
    """The teacher at `path`, frozen; ParameterError naming config.teacher when it is not an
    image classifier over `class_names` (its labels.txt, when it has one beside it, must
    name the same classes in the same order)."""
    teacher = network.load_model(path, "config.teacher", architecture=None)
    if len(teacher.output.shape) != 2:
        raise ParameterError(f"{{config.teacher}} {path} gives outputs of shape {tuple(teacher.output.shape)}, not a "
                             "score per class")
    if teacher.output.shape[-1] != len(class_names):
        raise ParameterError(f"{{config.teacher}} {path} gives {teacher.output.shape[-1]} scores, not one for each of "
                             f"the dataset's {len(class_names)} classes")
    labels = names.labels_path(path)
    if os.path.isfile(labels):
        with open(labels) as file:
            theirs = tuple(line.strip() for line in file if line.strip())
        if theirs != tuple(class_names):
            raise ParameterError(f"{{config.teacher}} {path} was trained on other classes ({_some(theirs)}) than "
                                 f"the dataset's ({_some(class_names)})")
    teacher.trainable = False
    return teacher


def _some(class_names, shown=4):
    return ", ".join(class_names[:shown]) + (", ..." if len(class_names) > shown else "")


def teacher_targets(teacher):
    """A function of a training batch (uint8 images, one-hot or mixed labels) returning
    (images, labels followed by the teacher's scores for those same images)."""
    side = teacher.input.shape[1]

    def add_scores(images, labels):
        pixels = tf.cast(images, tf.float32)
        if side is not None and side != images.shape[1]:
            pixels = tf.image.resize(pixels, (side, side), method="bilinear")
        scores = tf.cast(teacher(pixels, training=False), labels.dtype)
        return images, tf.concat([labels, scores], axis=-1)

    return add_scores


def _softened(probabilities, temperature):
    logits = tf.math.log(tf.clip_by_value(probabilities, PROBABILITY_FLOOR, 1.0))
    return tf.nn.softmax(logits / temperature, axis=-1)


@keras.saving.register_keras_serializable(package="mobilenet")
class ClassificationLoss(keras.losses.Loss):
    """Cross-entropy with the labels (label smoothing as Keras'), plus, where the targets
    carry a teacher's scores after the labels, the distillation term above."""

    def __init__(self, label_smoothing=0.0, distillation_weight=0.5, temperature=1.0, name="classification", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing
        self.distillation_weight = distillation_weight
        self.temperature = temperature

    def call(self, y_true, y_pred):
        classes = y_pred.shape[-1]
        y_true = tf.cast(y_true, y_pred.dtype)
        cross_entropy = keras.losses.categorical_crossentropy(y_true[..., :classes], y_pred,
                                                              label_smoothing=self.label_smoothing)
        if y_true.shape[-1] == classes:
            return cross_entropy
        teacher = _softened(y_true[..., classes:], self.temperature)
        student = _softened(y_pred, self.temperature)
        divergence = tf.reduce_sum(teacher * (tf.math.log(tf.clip_by_value(teacher, PROBABILITY_FLOOR, 1.0))
                                              - tf.math.log(tf.clip_by_value(student, PROBABILITY_FLOOR, 1.0))),
                                   axis=-1)
        weight = self.distillation_weight
        return weight * self.temperature ** 2 * divergence + (1 - weight) * cross_entropy

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "distillation_weight": self.distillation_weight, "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="mobilenet")
class TopKAccuracy(keras.metrics.TopKCategoricalAccuracy):
    """Top-k accuracy against the labels alone: the targets may carry a teacher's scores after them."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_true[..., :y_pred.shape[-1]], y_pred, sample_weight)
