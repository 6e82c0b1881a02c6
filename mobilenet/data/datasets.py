"""Image-classification datasets: TensorFlow Datasets, or a folder of your own photos.

`load_dataset` finds (and on a machine with network, downloads) the dataset and picks its
splits: one to train on, one to validate with while training (it picks best.keras), and
one that export evaluates and the model card reports (`test` when the dataset has one).
A `Dataset` reads any split as encoded image bytes (`examples`), which
mobilenet.data.input_pipeline decodes into pixels; it reads TFDS' prepared records and a
folder's files (mobilenet.data.folders) alike.
"""

import dataclasses
import os
import types

import tensorflow as tf
import tensorflow_datasets as tfds

from mobilenet.data import folders, photo_files
from mobilenet.errors import ParameterError, one_line

FOLDER_PREFIX = "folder:"
EVAL_SPLITS = ("validation", "val", "test")  # the first one a dataset has validates, unless told otherwise
TEST_SPLIT = "test"


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A prepared dataset and its splits: `builder` (TFDS) or `folder` (folder:PATH) holds it."""

    name: str
    class_names: tuple
    train_split: str
    eval_split: str
    test_split: str  # what export evaluates: TEST_SPLIT when the dataset has one, else eval_split
    builder: tfds.core.DatasetBuilder = None
    folder: folders.ImageFolder = None

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def splits(self):
        """The names of the dataset's own splits."""
        return sorted(self.folder.splits if self.folder else self.builder.info.splits)

    @property
    def size_bytes(self):
        """The encoded images' size on disk (0 when TFDS does not know it)."""
        if self.folder:
            return sum(os.path.getsize(os.path.join(self.folder.root, path))
                       for files in self.folder.splits.values() for path, _ in files)
        return int(self.builder.info.dataset_size or 0)

    def num_examples(self, split):
        """The examples in `split`, a split name or a TFDS split expression ("train[:90%]");
        ValueError for an unknown one."""
        if self.folder:
            return len(self._folder_files(split))
        return self.builder.info.splits[split].num_examples

    def examples(self, split, shuffle_files=False, seed=None):
        """(encoded image bytes, label, file name) triples of `split`, not yet decoded; with
        `shuffle_files`, TFDS' record files in an order drawn with `seed` (a folder's files keep
        theirs: the training pipeline's shuffle buffer mixes them)."""
        if self.folder:
            pairs = self._folder_files(split)
            paths = [os.path.join(self.folder.root, path) for path, _ in pairs]
            files = tf.data.Dataset.from_tensor_slices((
                tf.constant(paths, tf.string), tf.constant([label for _, label in pairs], tf.int64),
                tf.constant([path in self.folder.fixed for path, _ in pairs], tf.bool)))
            return files.map(lambda path, label, fixed: (_read_image_file(path, fixed), label, path),
                             num_parallel_calls=tf.data.AUTOTUNE)
        records = self.builder.as_dataset(
            split=split,
            shuffle_files=shuffle_files,
            decoders={"image": tfds.decode.SkipDecoding()},
            read_config=tfds.ReadConfig(shuffle_seed=seed, try_autocache=False),
        )
        return records.map(lambda example: (example["image"], example["label"], example.get("image/filename", "")),
                           num_parallel_calls=tf.data.AUTOTUNE)

    def _folder_files(self, split):
        """[(relative path, label)] of a split expression of the folder, through TFDS' own parser."""
        sizes = {name: types.SimpleNamespace(num_examples=len(files)) for name, files in self.folder.splits.items()}
        parts = tfds.core.ReadInstruction.from_spec(split).to_absolute(sizes)
        return [pair for part in parts for pair in self.folder.splits[part.splitname][part.from_:part.to]]


def _read_image_file(path, fixed):
    """A folder's image file as encoded bytes: its own, or, for one the folder scan found turned
    or transparent, as a viewer shows it (photo_files: Pillow, in Python, for those files only)."""
    def as_viewed(path_tensor):
        return photo_files.as_viewed(path_tensor.numpy().decode())

    return tf.cond(fixed, lambda: tf.ensure_shape(tf.py_function(as_viewed, [path], tf.string), ()),
                   lambda: tf.io.read_file(path))


def load_dataset(name, data_dir=None, train_split="", eval_split="", validation_fraction=folders.VALIDATION_FRACTION):
    """Prepares dataset `name` and chooses its splits.

    Args:
      name: a TFDS image-classification dataset with `image` and `label` features
        ("imagenette/160px-v2", "tf_flowers", ...), or "folder:PATH" for a folder of
        images, PATH/<class>/<image> or PATH/<split>/<class>/<image> (mobilenet.data.folders).
      data_dir: where TFDS keeps prepared datasets; None for TFDS' own default
        (the TFDS_DATA_DIR variable, else ~/tensorflow_datasets).
      train_split, eval_split: split names or TFDS split expressions ("train",
        "train[:90%]", ...); empty to choose from what the dataset has: "train" for
        training, and "validation", "val" or "test" for validation, else the last 10 %
        of "train".
      validation_fraction: of each class of a PATH/<class>/<image> folder, the share held
        out for validation.

    Raises:
      ParameterError: with a one-line message naming the parameter at fault.
    """
    folder, builder = None, None
    if name.startswith(FOLDER_PREFIX):
        folder = folders.read_folder(name[len(FOLDER_PREFIX):], validation_fraction)
        class_names, splits = folder.class_names, folder.splits
    else:
        builder = _tfds_builder(name, data_dir)
        class_names, splits = tuple(builder.info.features["label"].names), builder.info.splits
    if not train_split:
        if "train" not in splits:
            raise ParameterError(f"{{dataset}} {name} has no 'train' split (it has {_names(splits)}): set {{train_split}}")
        train_split = "train"
        eval_split = eval_split or next((split for split in EVAL_SPLITS if split in splits), "")
        if not eval_split and folder:
            raise ParameterError(f"{{dataset}} {name} needs an evaluation split too: add a val/ (or test/) directory")
        if not eval_split:
            train_split, eval_split = "train[:90%]", "train[90%:]"
    elif not eval_split:
        raise ParameterError("{eval_split} is needed when {train_split} is given")
    test_split = TEST_SPLIT if TEST_SPLIT in splits else eval_split
    dataset = Dataset(name, class_names, train_split, eval_split, test_split, builder, folder)
    for parameter, split in (("train_split", train_split), ("eval_split", eval_split)):
        try:
            count = dataset.num_examples(split)
        except (KeyError, ValueError, AssertionError) as error:
            raise ParameterError(f"{{{parameter}}} {split!r} is not a split of {name} (it has {_names(splits)}): "
                                 f"{one_line(error)}") from None
        if count == 0:
            raise ParameterError(f"{{{parameter}}} {split!r} of {name} has no examples")
    return dataset


def _names(splits):
    return ", ".join(sorted(splits))


def _tfds_builder(name, data_dir):
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ParameterError(
            f"{{dataset}} {name!r} is not a TFDS dataset: use a name from the TFDS catalogue "
            "(imagenette/160px-v2, imagenet2012, tf_flowers, cifar10, ...) or folder:PATH"
        ) from None
    features = builder.info.features
    if not {"image", "label"} <= set(features.keys()) or not isinstance(
        features["label"], tfds.features.ClassLabel
    ):
        raise ParameterError(f"{{dataset}} {name} is not an image-classification dataset with 'image' and 'label' features")
    if not builder.is_prepared():
        try:
            builder.download_and_prepare()
        except Exception as error:  # network, disk or manual-download errors, all reported alike
            raise ParameterError(_download_failure_message(name, builder, error)) from None
    return builder


def _download_failure_message(name, builder, error):
    reason = one_line(error)
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
        return (
            f"{{dataset}} {name} must be downloaded by hand (from image-net.org for imagenet2012) into "
            f"{builder.data_dir_root}/downloads/manual, then prepared by TFDS; it is not prepared in "
            f"{{data_dir}} {builder.data_dir_root} ({reason})"
        )
    return (
        f"{{dataset}} {name} is not prepared in {{data_dir}} {builder.data_dir_root} and could not be "
        f"downloaded ({reason}); on a machine without network point {{data_dir}} (or TFDS_DATA_DIR) at "
        "a prepared copy, e.g. ../shared/tensorflow_datasets"
    )


def class_counts(dataset, split):
    """Images per class in `split`, in label order (the labels alone are read)."""
    labels = dataset.examples(split).map(lambda image, label, name: label)
    counts = labels.reduce(tf.zeros(dataset.num_classes, tf.int64),
                           lambda counts, label: counts + tf.one_hot(label, dataset.num_classes, dtype=tf.int64))
    return [int(count) for count in counts.numpy()]
