"""Knowledge distillation: a trained teacher's scores as a second target for the student.

The paper made its small face-attribute MobileNets accurate this way: trained on a large
model's outputs (§4.4, after Hinton et al. 2015). Here the teacher (config.teacher: a
`.keras` classifier over the same classes, of any α, ρ or architecture that takes raw
pixels) runs in inference mode on each training batch exactly as the student sees it,
after the crop, the flip and MixUp or CutMix (Beyer et al. 2022, "a good teacher is patient
and consistent"), resized to its own input size. It runs inside the `tf.data` pipeline and
its scores travel after the labels in the targets, so the model that trains, resumes and
is saved (best.keras, final.keras, the export) is the student alone.

The loss that weighs the teacher's scores against the labels is every run's own,
mobilenet.training.objective.ClassificationLoss.
"""

import os

import tensorflow as tf

from mobilenet import names
from mobilenet.errors import ParameterError
from mobilenet.model import network



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
