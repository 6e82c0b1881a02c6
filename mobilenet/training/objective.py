"""What every run minimises and reports: the classification loss and the top-k accuracies.

Targets are the labels (one-hot, or soft after MixUp and CutMix), followed, when a teacher
distils into the model (mobilenet.training.distillation), by the teacher's scores. The loss
(`ClassificationLoss`, Keras' knowledge-distillation example):

  distillation_weight · T² · KL(teacher_T ‖ student_T) + (1 − distillation_weight) · CE(labels, student)

where p_T = softmax(log p / T) softens both at temperature T, and CE is the usual
cross-entropy with label smoothing. Without a teacher's scores in the targets (no teacher,
or the validation data) it is CE alone; `TopKAccuracy` reads the labels alone. Both are
registered with Keras under the package "mobilenet", so the `.keras` files of every run load.
"""

import keras
import tensorflow as tf

PROBABILITY_FLOOR = 1e-7  # log(0) is not a number; Keras' cross-entropy clips alike


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
