"""Your own photos: a folder of images as people have it, read and split here.

Two layouts:

* PATH/<class>/<image> (the layout of Keras' `image_dataset_from_directory`, MediaPipe
  Model Maker, Teachable Machine and TFDS' flower_photos; images may sit in subfolders of a
  class folder). The split is made here, file by file: a file is held out for validation
  when a hash of its path relative to PATH falls below `validation_fraction`. So each
  class keeps about that share, the split is the same on every machine, and adding photos
  never moves a photo already there to the other split. Every class keeps at least one
  photo on each side: a class the hash splits one-sided lends its lowest-hash photo to
  validation (or its highest to training) until it has photos enough.
* PATH/<split>/<class>/<image>, with a train/ folder beside val/ (or validation/) and test/:
  the splits as given.

Files that do not decode as images (input_pipeline.READABLE_FORMATS) are left out, and said so.
Photos stored sideways (an EXIF orientation) or with transparency are read as a viewer shows
them (mobilenet.data.photo_files); which ones those are is found once, here. The folder is only
read, never written.
"""

import dataclasses
import hashlib
import os

from mobilenet.errors import ParameterError

TRAIN, VALIDATION = "train", "validation"
VALIDATION_FRACTION = 0.2  # the default share of each class held out (configs read it from here)
# How a hash of a file's relative path becomes a number in [0, 1): its first 8 bytes.
HASH_BYTES = 8


@dataclasses.dataclass(frozen=True)
class ImageFolder:
    """The images of a folder dataset: {split: [(path relative to root, class index)]}."""

    root: str
    class_names: tuple
    splits: dict
    layout: str  # "classes" (PATH/<class>/) or "splits" (PATH/<split>/<class>/)
    skipped: tuple = ()  # relative paths of the files that are not decodable images
    validation_fraction: float = None  # "classes" layout: the share of each class held out
    # Relative paths of the images a viewer shows otherwise than they decode (turned, transparent).
    fixed: frozenset = frozenset()

    def rows(self):
        """(path, class, split) of every image, for split.csv."""
        return [(path, self.class_names[label], split) for split, files in self.splits.items() for path, label in files]


def read_folder(path, validation_fraction=VALIDATION_FRACTION):
    """The folder `path` as an ImageFolder; ParameterError naming `dataset` (or
    `validation_fraction`) for a folder that cannot be a dataset."""
    if not os.path.isdir(path):
        raise ParameterError(f"{{dataset}} folder:{path}: no such directory")
    if not 0 < validation_fraction < 1:
        raise ParameterError(f"{{validation_fraction}} must be in (0, 1), got {validation_fraction!r}")
    directories = _subdirectories(path)
    if not directories:
        raise ParameterError(f"{{dataset}} folder:{path} has no class folders: lay images out as PATH/<class>/<image>"
                             " (e.g. PATH/daisy/1.jpg), or PATH/train/<class>/<image> with val/ beside train/")
    if TRAIN in directories and all(_subdirectories(os.path.join(path, name)) for name in directories):
        return _split_layout(path, directories)
    return _class_layout(path, directories, validation_fraction)


def _check_classes(root, class_names):
    if len(class_names) < 2:
        raise ParameterError(
            f"{{dataset}} folder:{root} has one class folder ({', '.join(class_names)}): a classifier needs at least "
            "two; lay images out as PATH/<class>/<image>, or as PATH/train/<class>/<image> with val/ beside train/")


def _subdirectories(path):
    return sorted(name for name in os.listdir(path) if not name.startswith(".")
                  and os.path.isdir(os.path.join(path, name)))


def _files(path):
    """The files below `path` (subfolders too), relative to it, in a fixed order."""
    found = []
    for directory, subdirectories, names in os.walk(path):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        found += [os.path.relpath(os.path.join(directory, name), path) for name in sorted(names)
                  if not name.startswith(".")]
    return found


def _class_layout(root, class_names, validation_fraction):
    _check_classes(root, class_names)
    files = {name: [os.path.join(name, file) for file in _files(os.path.join(root, name))] for name in class_names}
    readable, skipped = _decodable(root, [file for names in files.values() for file in names])
    splits = {TRAIN: [], VALIDATION: []}
    for label, name in enumerate(class_names):
        images = [file for file in files[name] if file in readable]
        if len(images) < 2:
            raise ParameterError(f"{{dataset}} folder:{root}: class {name} has {len(images)} image(s); every class "
                                 "needs at least 2, one to train on and one to validate with")
        held_out = _held_out(images, validation_fraction)
        splits[TRAIN] += [(file, label) for file in images if file not in held_out]
        splits[VALIDATION] += [(file, label) for file in held_out]
    return ImageFolder(root, tuple(class_names), splits, "classes", tuple(skipped), validation_fraction,
                       _to_fix(root, splits))


def _held_out(images, validation_fraction):
    """The images of one class held out for validation: those whose hash falls below the
    fraction, but never none nor all. With few photos (10 a class: one class in ten has none
    below 0.2) the one of lowest hash is held out, or the one of highest hash kept for
    training; such a class's split can move when photos are added, until the hash alone
    holds some out."""
    by_hash = sorted(images, key=_hash_fraction)
    below = sum(_hash_fraction(file) < validation_fraction for file in by_hash)
    return by_hash[:min(max(below, 1), len(images) - 1)]


def _split_layout(root, split_names):
    class_names = sorted({name for split in split_names for name in _subdirectories(os.path.join(root, split))})
    _check_classes(root, class_names)
    files = {split: [(os.path.join(split, name, file), label) for label, name in enumerate(class_names)
                     if os.path.isdir(os.path.join(root, split, name))
                     for file in _files(os.path.join(root, split, name))]
             for split in split_names}
    readable, skipped = _decodable(root, [file for pairs in files.values() for file, _ in pairs])
    splits = {split: [(file, label) for file, label in pairs if file in readable] for split, pairs in files.items()}
    return ImageFolder(root, tuple(class_names), splits, "splits", tuple(skipped), fixed=_to_fix(root, splits))


def _to_fix(root, splits):
    """The images of `splits` that photo_files must turn upright or lay on white."""
    from mobilenet.data import photo_files

    return frozenset(path for files in splits.values() for path, _ in files
                     if photo_files.needs_fixing(os.path.join(root, path)))


def _hash_fraction(relative_path):
    """A number in [0, 1) fixed by the path alone (with / as separator on every system)."""
    digest = hashlib.sha256(relative_path.replace(os.sep, "/").encode()).digest()
    return int.from_bytes(digest[:HASH_BYTES], "big") / 2 ** (8 * HASH_BYTES)


def _decodable(root, relative_paths):
    """(the set of paths that decode as images, the list of those that do not), decoded by
    tf.data in parallel; a file's decoding error cannot stop the others."""
    import tensorflow as tf  # here, not above: configs read VALIDATION_FRACTION before TensorFlow loads

    from mobilenet.data import input_pipeline

    if not relative_paths:
        return set(), []
    paths = tf.data.Dataset.from_tensor_slices([os.path.join(root, path) for path in relative_paths])
    decoded = paths.map(lambda path: (path, tf.shape(input_pipeline.decode(tf.io.read_file(path)))),
                        num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    good = {os.path.relpath(path.decode(), root) for path, _ in decoded.as_numpy_iterator()}
    return good, [path for path in relative_paths if path not in good]
