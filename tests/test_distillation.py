"""Knowledge distillation: the loss by hand, the teacher's view of each batch, its checks,
resuming with it, and a student exported as if it had none."""

import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import schema_py_generated as schema

import mobilenet
from mobilenet.data import datasets, input_pipeline
from mobilenet.exporting import release
from mobilenet.training import distillation, loop, objective

from helpers import tiny_config, weights_digest


def test_the_loss_is_the_weighted_kl_at_temperature_plus_the_usual_cross_entropy():
    rng = np.random.default_rng(0)
    labels = np.eye(4)[[0, 3, 1]]
    student, teacher = (rng.dirichlet(np.ones(4), size=3).astype(np.float32) for _ in range(2))
    weight, temperature, smoothing = 0.7, 3.0, 0.1

    def softened(p):
        logits = np.log(p) / temperature
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    kl = np.sum(softened(teacher) * (np.log(softened(teacher)) - np.log(softened(student))), axis=1)
    smoothed = labels * (1 - smoothing) + smoothing / 4
    cross_entropy = -np.sum(smoothed * np.log(student), axis=1)
    expected = np.mean(weight * temperature ** 2 * kl + (1 - weight) * cross_entropy)

    loss = objective.ClassificationLoss(smoothing, weight, temperature)
    targets = np.concatenate([labels, teacher], axis=1).astype(np.float32)
    assert float(loss(targets, student)) == pytest.approx(expected, rel=1e-5)
    # Without a teacher's scores (no teacher, or validation) it is Keras' own cross-entropy.
    assert float(loss(labels.astype(np.float32), student)) == pytest.approx(
        float(keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)(labels, student)), rel=1e-6)


@pytest.fixture(scope="module")
def teacher_run(tiny_run, tmp_path_factory):
    """A teacher: the tiny run's model at 40 pixels (the students take 32), with its labels."""
    from mobilenet.model import network

    workdir = tmp_path_factory.mktemp("teacher")
    teacher = network.with_resolution(network.load_model(str(tiny_run[0] / "best.keras")), 40)
    teacher.save(workdir / "best.keras")
    shutil.copy(tiny_run[0] / "labels.txt", workdir)
    return workdir


def test_the_teacher_scores_the_batch_the_student_sees_at_its_own_size(image_folder, teacher_run):
    dataset = datasets.load_dataset(f"folder:{image_folder}")
    teacher = distillation.load_teacher(str(teacher_run / "best.keras"), dataset.class_names)
    assert not teacher.trainable
    images, labels = next(iter(input_pipeline.train_images(dataset, 32, 8)))
    same_images, targets = distillation.teacher_targets(teacher)(images, labels)
    np.testing.assert_array_equal(same_images, images)
    np.testing.assert_array_equal(targets[:, :3], labels)
    resized = tf.image.resize(tf.cast(images, tf.float32), (40, 40), method="bilinear")
    np.testing.assert_allclose(targets[:, 3:], teacher(resized, training=False), atol=1e-6)


def test_a_teacher_of_other_classes_is_refused(image_folder, teacher_run, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "best.keras").write_bytes((teacher_run / "best.keras").read_bytes())
    (other / "labels.txt").write_text("cat\ndog\nfox\n")
    with pytest.raises(ValueError, match=r"^config.teacher .* was trained on other classes \(cat, dog, fox\) than the "
                                         r"dataset's \(blue, green, red\)"):
        mobilenet.train(tiny_config(f"folder:{image_folder}", teacher=str(other / "best.keras")), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # trains three models
def test_a_distilled_run_resumes_with_its_teacher_and_refuses_another(image_folder, teacher_run, tmp_path, capsys):
    teacher = str(teacher_run / "best.keras")
    first = mobilenet.train(tiny_config(f"folder:{image_folder}", teacher=teacher, epochs=1), str(tmp_path / "run"))
    resumed = mobilenet.train(tiny_config(f"folder:{image_folder}", teacher=teacher), str(tmp_path / "run"))
    assert [row["epoch"] for row in first.history] == [1] and [row["epoch"] for row in resumed.history] == [1, 2]
    assert f"Resuming {tmp_path / 'run'} after epoch 1 of 2." in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"holds another run \(teacher .* -> ''\)"):
        mobilenet.train(tiny_config(f"folder:{image_folder}", epochs=3), str(tmp_path / "run"))
    # Distillation changed what was learnt: the same run without a teacher ends elsewhere.
    alone = mobilenet.train(tiny_config(f"folder:{image_folder}"), str(tmp_path / "alone"))
    assert weights_digest(tmp_path / "run" / "final.keras") != weights_digest(tmp_path / "alone" / "final.keras")
    assert resumed.history[-1]["loss"] != alone.history[-1]["loss"]


@pytest.mark.slow  # end to end: two trainings and two exports
def test_the_exported_student_is_the_same_file_with_or_without_a_teacher(image_folder, teacher_run, tmp_path):
    """Same size, same ops, same tensors: the teacher leaves nothing in the student."""
    structures = []
    for name, teacher in (("distilled", str(teacher_run / "best.keras")), ("plain", "")):
        run = loop.train(tiny_config(f"folder:{image_folder}", epochs=1, teacher=teacher), str(tmp_path / name))
        exported = release.export(run.workdir, evaluate=False, threads=(), representative_samples=8)
        structures.append(file_structure(open(exported.tflite, "rb").read()))
    assert structures[0] == structures[1]


def file_structure(content):
    """Its size, its operators in order and its tensors' types and shapes."""
    model = schema.ModelT.InitFromPackedBuf(content, 0)
    graph = model.subgraphs[0]
    codes = [model.operatorCodes[op.opcodeIndex] for op in graph.operators]
    return (len(content), [max(code.builtinCode, code.deprecatedBuiltinCode) for code in codes],
            [(tensor.type, list(tensor.shape)) for tensor in graph.tensors])
