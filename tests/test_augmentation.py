"""mobilenet.data.augmentation in the training pipeline."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mobilenet.data import augmentation, datasets, input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.converting import conversion
from mobilenet.model import network as model_lib
from mobilenet.training import loop as training

from helpers import tiny_config

RESOLUTION, BATCH = 32, 8
KNOBS = {
    "randaugment": {"randaugment_ops": 2, "randaugment_magnitude": 1.0},
    "color_jitter": {"color_jitter": 1.0},
    "random_erasing": {"random_erasing": 1.0},
    "mixup": {"mixup": True},
    "cutmix": {"cutmix": True},
    "mixup_or_cutmix": {"mixup": True, "cutmix": True},
}


def batches(image_folder, config):
    dataset = datasets.load_dataset(config.dataset)
    stream = input_pipeline.train_images(
        dataset, RESOLUTION, BATCH, augment_image=augmentation.image_augmentation(config),
        batch_stages=[stage for stage in [augmentation.batch_mixing(config)] if stage])
    return next(iter(stream))


@pytest.mark.parametrize("knob", KNOBS)
def test_each_augmentation_keeps_uint8_pixels_and_changes_them(image_folder, knob):
    keras.utils.set_random_seed(0)
    config = tiny_config(f"folder:{image_folder}", **KNOBS[knob])
    plain_images, plain_labels = batches(image_folder, tiny_config(f"folder:{image_folder}"))
    augment, mix = augmentation.image_augmentation(config), augmentation.batch_mixing(config)
    assert (augment is None) != (mix is None)

    # Eagerly, on the batch the plain pipeline gave.
    if augment:
        eager_images, eager_labels = tf.stack([augment(image) for image in plain_images]), plain_labels
    else:
        eager_images, eager_labels = mix(plain_images, plain_labels)
    # Inside tf.data, as training runs it.
    piped_images, piped_labels = batches(image_folder, config)
    for images, labels in ((eager_images, eager_labels), (piped_images, piped_labels)):
        assert images.dtype == tf.uint8 and images.shape == (BATCH, RESOLUTION, RESOLUTION, 3)
        assert labels.dtype == tf.float32 and labels.shape == (BATCH, 3)
        assert np.allclose(tf.reduce_sum(labels, axis=1), 1.0, atol=1e-5)
        assert not np.array_equal(images.numpy(), plain_images.numpy())
    if mix:
        assert np.max(eager_labels) < 1 or np.min(eager_labels[eager_labels > 0]) < 1  # some labels are soft


def test_mixed_labels_are_soft_and_sum_to_one_per_example(image_folder):
    keras.utils.set_random_seed(0)
    config = tiny_config(f"folder:{image_folder}", mixup=True, cutmix=True)
    dataset = datasets.load_dataset(config.dataset)
    stream = input_pipeline.train_images(dataset, RESOLUTION, BATCH, batch_stages=[augmentation.batch_mixing(config)])
    labels = np.concatenate([labels for _, labels in stream.take(6).as_numpy_iterator()])
    assert np.allclose(labels.sum(axis=1), 1.0, atol=1e-5)
    assert ((labels > 0.01) & (labels < 0.99)).any()  # some are soft (a partner of the same class is not)


def test_randaugment_posterizes_and_solarizes_less_at_a_low_magnitude():
    """Keras 3.15's own scale is the other way round (one bit kept, every pixel inverted)."""
    levels = tf.cast(tf.reshape(tf.range(16 * 16 * 3) % 256, (16, 16, 3)), tf.float32)  # every level
    operations = augmentation.randaugment_operations(2, 0.2, seed=0)
    for _ in range(5):
        posterized = np.array(operations["random_posterization"](levels))
        assert np.max(np.abs(posterized - levels.numpy())) <= 1  # 7 bits kept
        solarized = np.array(operations["solarization"](levels))
        changed = solarized != levels.numpy()
        assert changed.any() and levels.numpy()[changed].min() >= 255 * 0.8


def test_with_no_knob_on_the_pipeline_is_unchanged(image_folder):
    config = tiny_config(f"folder:{image_folder}")
    assert augmentation.image_augmentation(config) is None and augmentation.batch_mixing(config) is None


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"randaugment_magnitude": -0.5}, r"^config.randaugment_magnitude must be in \[0, 1\], got -0.5$"),
        ({"randaugment_ops": -1}, r"^config.randaugment_ops must be >= 0 \(0: off\), got -1$"),
        ({"mixup_alpha": 0.0}, r"^config.mixup_alpha must be > 0, got 0.0$"),
        ({"cutmix_factor": 1.5}, r"^config.cutmix_factor must be in \(0, 1\], got 1.5$"),
        ({"ema_momentum": 1.0}, r"^config.ema_momentum must be in \(0, 1\), got 1.0$"),
        ({"ema_momentum": 0.0}, r"^config.ema_momentum must be in \(0, 1\), got 0.0$"),
        ({"random_erasing": 2.0}, r"^config.random_erasing must be in \[0, 1\] \(0: off\), got 2.0$"),
        ({"color_jitter": -0.1}, r"^config.color_jitter must be in \[0, 1\] \(0: off\), got -0.1$"),
    ],
)
def test_bad_values_get_one_line_naming_the_field(image_folder, tmp_path, overrides, message):
    with pytest.raises(ParameterError, match=message):
        training.train(tiny_config(f"folder:{image_folder}", **overrides), str(tmp_path / "run"))


# Every knob on, and the EMA of the weights (a low momentum: the averages move within two tiny epochs).
RECIPE = dict(randaugment_ops=2, color_jitter=0.4, random_erasing=0.25, mixup=True, cutmix=True, ema=True,
              ema_momentum=0.9)


@pytest.fixture(scope="module")
def recipe_run(image_folder, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("recipe")
    training.train(tiny_config(f"folder:{image_folder}", **RECIPE), str(workdir))
    return workdir


@pytest.mark.slow  # trains two models
def test_augmentations_leave_the_exported_model_unchanged(image_folder, recipe_run, tmp_path):
    """The same .tflite size and op list with every knob on as with none."""
    from ai_edge_litert import schema_py_generated as schema

    def exported(workdir):
        keras.backend.clear_session()  # Keras numbers layer names per process, and the file keeps them
        content = conversion.convert(model_lib.load_model(str(workdir / "best.keras")), "float32")
        graph = schema.ModelT.InitFromPackedBuf(content, 0)
        return len(content), [graph.operatorCodes[op.opcodeIndex].builtinCode for op in graph.subgraphs[0].operators]

    training.train(tiny_config(f"folder:{image_folder}", epochs=1), str(tmp_path / "plain"))
    assert exported(tmp_path / "plain") == exported(recipe_run)
