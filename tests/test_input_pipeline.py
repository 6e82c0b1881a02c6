"""Datasets load from TFDS or folders, and every pipeline yields ρ x ρ uint8 RGB pixels."""

import numpy as np
import pytest
import tensorflow as tf

from mobilenet.data import datasets, input_pipeline as ip
from mobilenet.errors import ParameterError


def test_a_split_folder_gives_its_classes_and_every_format_as_rgb(image_folder):
    dataset = datasets.load_dataset(f"folder:{image_folder}")
    assert dataset.class_names == ("blue", "green", "red")
    assert (dataset.train_split, dataset.eval_split) == ("train", "val")
    images, labels = next(iter(ip.eval_images(dataset, 32, 12)))
    assert images.shape == (12, 32, 32, 3) and images.dtype == tf.uint8
    # Grayscale JPEGs and RGBA PNGs decode to RGB alongside the rest.
    train_images, _ = next(iter(ip.train_images(dataset, 40, 24)))
    assert train_images.shape == (24, 40, 40, 3) and train_images.dtype == tf.uint8


def test_training_stream_is_reproducible_and_seeded(image_folder):
    dataset = datasets.load_dataset(f"folder:{image_folder}")
    first = lambda seed: next(iter(ip.train_images(dataset, 32, 8, seed=seed)))[0].numpy()
    np.testing.assert_array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))


def test_eval_preprocessing_is_a_central_crop():
    pixels = np.zeros((80, 80, 3), np.uint8)
    pixels[5:75, 5:75] = 200  # the central 87.5 % (70 px) is bright, the border dark
    image = ip.preprocess_for_eval(tf.io.encode_png(pixels), 35).numpy()
    assert image.shape == (35, 35, 3)
    assert image.min() == 200


def test_training_crop_decodes_png_and_jpeg_alike():
    pixels = np.full((50, 60, 3), 77, np.uint8)
    for encoded in (tf.io.encode_png(pixels), tf.io.encode_jpeg(pixels, quality=100)):
        image = ip.preprocess_for_train(encoded, 24, tf.constant([1, 2], tf.int64)).numpy()
        assert image.shape == (24, 24, 3)
        assert abs(int(np.median(image)) - 77) <= 1


def test_imagenette_from_shared_data_dir(shared):
    dataset = datasets.load_dataset("imagenette/160px-v2", str(shared / "tensorflow_datasets"))
    assert dataset.num_classes == 10 and dataset.class_names[0] == "n01440764"
    assert (dataset.train_split, dataset.eval_split) == ("train", "validation")
    assert dataset.num_examples("train") == 9469 and dataset.num_examples("validation") == 3925
    held_out = datasets.load_dataset("imagenette/160px-v2", str(shared / "tensorflow_datasets"), "train[:90%]", "train[90%:]")
    assert held_out.num_examples("train[90%:]") == 947
    images, labels = next(iter(ip.eval_images(dataset, 64, 4, split="validation[:4]")))
    assert images.shape == (4, 64, 64, 3) and labels.shape == (4,)


@pytest.mark.parametrize(
    "name,message",
    [
        ("folder:/no/such/dir", "no such directory"),
        ("not_a_dataset_name", "is not a TFDS dataset"),
    ],
)
def test_bad_dataset_names(name, message):
    with pytest.raises(ValueError, match=message):
        datasets.load_dataset(name)


def test_unknown_split(image_folder):
    with pytest.raises(ValueError, match="^eval_split 'test' is not a split"):
        datasets.load_dataset(f"folder:{image_folder}", train_split="train", eval_split="test")


def test_download_failure_message_says_where_to_point_data_dir(tmp_path):
    import tensorflow_datasets as tfds

    builder = tfds.builder("tf_flowers", data_dir=str(tmp_path))
    template = datasets._download_failure_message("tf_flowers", builder, OSError("Name resolution failed\nmore"))
    message = ParameterError(template).message(lambda parameter: f"--{parameter}")  # as a command shows it
    assert str(tmp_path) in message and "--data_dir" in message and "\n" not in message


@pytest.mark.parametrize("stage", ["train", "eval"])
def test_preprocessing_is_the_same_eagerly_and_inside_tf_data(image_folder, stage):
    """Grayscale JPEG, RGBA PNG and plain JPEG alike: the function does not depend on graph mode."""
    paths = sorted((image_folder / "train" / "green").iterdir())[:2] + sorted((image_folder / "train" / "red").iterdir())[:2]
    assert {path.suffix for path in paths} == {".png", ".jpg"}
    for index, path in enumerate(paths):
        seed = tf.constant([7, index], tf.int64)
        if stage == "train":
            preprocess = lambda data: ip.preprocess_for_train(data, 40, seed, area_range=(0.3, 1.0))
        else:
            preprocess = lambda data: ip.preprocess_for_eval(data, 40)
        eager = preprocess(tf.constant(path.read_bytes()))
        in_tf_data = next(iter(tf.data.Dataset.from_tensors(path.read_bytes()).map(preprocess)))
        assert eager.shape == (40, 40, 3) and eager.dtype == tf.uint8
        np.testing.assert_array_equal(eager, in_tf_data)


def test_every_format_the_messages_name_is_read(tmp_path):
    """input_pipeline.READABLE_FORMATS is what decode reads: each format, lossless where it can be."""
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    for name in ("JPEG", "PNG", "BMP", "GIF", "WebP"):
        assert name in ip.READABLE_FORMATS
        path = tmp_path / f"image.{name.lower()}"
        options = {"lossless": True} if name == "WebP" else {"quality": 100} if name == "JPEG" else {}
        Image.fromarray(pixels).save(path, format=name.upper(), **options)
        decoded = ip.decode(tf.io.read_file(str(path))).numpy()
        assert decoded.shape == (12, 16, 3), name
        if name in ("PNG", "BMP", "WebP"):  # lossless: the very pixels
            np.testing.assert_array_equal(decoded, pixels, err_msg=name)
