"""Photos as a viewer shows them: each of the eight EXIF orientations turned upright, and
transparency laid on white, in a folder dataset and in `predict` alike; TFDS is untouched."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from mobilenet.data import datasets, input_pipeline, photo_files

ORIENTATIONS = range(1, 9)  # 1 upright; 3, 6, 8 turned; 2, 4, 5, 7 mirrored


def photo_with_orientation(path, orientation, height=24, width=40):
    """A 4:4:4 JPEG (no chroma subsampling: exact pixels) whose EXIF says `orientation`."""
    pixels = np.random.default_rng(orientation).integers(0, 256, (height, width, 3), dtype=np.uint8)
    pixels[:4, :8] = (255, 0, 0)  # a corner to tell the turns apart
    exif = Image.Exif()
    exif[photo_files.EXIF_ORIENTATION] = orientation
    Image.fromarray(pixels).save(path, format="JPEG", quality=95, subsampling=0, exif=exif.tobytes())
    return path


def viewer_pixels(path):
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


@pytest.fixture(scope="module")
def turned_folder(tmp_path_factory):
    """A PATH/<class>/ folder: one class of each orientation, one of transparent PNGs."""
    root = tmp_path_factory.mktemp("turned")
    for orientation in ORIENTATIONS:
        (root / f"o{orientation}").mkdir()
        for index in range(6):
            photo_with_orientation(root / f"o{orientation}" / f"{index}.jpg", orientation)
    (root / "transparent").mkdir()
    for index in range(6):
        rgba = np.zeros((16, 16, 4), np.uint8)
        rgba[..., 0] = 200  # red under every pixel, seen only where it is opaque
        rgba[:8, :, 3] = 255
        rgba[8:12, :, 3] = 128
        Image.fromarray(rgba, "RGBA").save(root / "transparent" / f"{index}.png")
    return root


def decoded_examples(folder):
    """{relative path: pixels} of every image of the folder, through the dataset's own reading."""
    dataset = datasets.load_dataset(f"folder:{folder}", validation_fraction=0.5)
    found = {}
    for split in ("train", "validation"):
        for image, _, path in dataset.examples(split).as_numpy_iterator():
            found[str(path.decode())[len(str(folder)) + 1:]] = input_pipeline.decode(image).numpy()
    return dataset, found


def test_a_folder_reads_each_orientation_as_a_viewer_shows_it(turned_folder):
    dataset, decoded = decoded_examples(turned_folder)
    assert len(decoded) == 9 * 6
    for orientation in ORIENTATIONS:
        path = f"o{orientation}/0.jpg"
        np.testing.assert_array_equal(decoded[path], viewer_pixels(turned_folder / path), err_msg=path)
        assert decoded[path].shape[:2] == ((24, 40) if orientation < 5 else (40, 24))
    # Only the files that need it are read through Pillow; the others are decoded as they are.
    assert {path.split("/")[0] for path in dataset.folder.fixed} == {f"o{o}" for o in range(2, 9)} | {"transparent"}


def test_transparent_pixels_are_laid_on_white(turned_folder):
    _, decoded = decoded_examples(turned_folder)
    pixels = decoded["transparent/0.png"]
    np.testing.assert_array_equal(pixels[0, 0], (200, 0, 0))  # opaque
    np.testing.assert_array_equal(pixels[-1, 0], (255, 255, 255))  # transparent: the white behind
    assert 200 <= pixels[9, 0, 0] <= 255 and 120 <= pixels[9, 0, 1] <= 135  # half: halfway to white


def test_a_folder_trains_on_upright_crops(turned_folder):
    """The training crop of a turned photo is a crop of the upright picture: its shape follows."""
    dataset = datasets.load_dataset(f"folder:{turned_folder}", validation_fraction=0.5)
    image = next(iter(dataset.examples("train").filter(lambda image, label, path: tf.strings.regex_full_match(
        path, ".*/o6/.*"))))[0]
    assert input_pipeline.image_shape(image).numpy()[:2].tolist() == [40, 24]
    crop = input_pipeline.preprocess_for_train(image, 32, tf.constant([1, 2], tf.int64), area_range=(1.0, 1.0))
    assert crop.shape == (32, 32, 3)


def test_predict_reads_a_sideways_photo_upright(tmp_path):
    path = photo_with_orientation(tmp_path / "sideways.jpg", 6)
    upright = tmp_path / "upright.png"
    Image.fromarray(viewer_pixels(path)).save(upright)
    assert photo_files.needs_fixing(path) and not photo_files.needs_fixing(upright)
    as_read = input_pipeline.decode(photo_files.read(str(path))).numpy()
    np.testing.assert_array_equal(as_read, input_pipeline.decode(photo_files.read(str(upright))).numpy())


def test_files_without_a_tag_are_passed_on_byte_for_byte(tmp_path):
    path = tmp_path / "plain.jpg"
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    assert photo_files.read(str(path)) == buffer.getvalue()
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    assert not photo_files.needs_fixing(tmp_path / "junk.jpg")  # TensorFlow's decoders judge it
