"""Image-classification datasets: TensorFlow Datasets, or a folder of images.

`load_dataset` finds (and on a machine with network, downloads) the dataset and picks
its splits; `encoded_examples` reads a split as encoded image bytes, which
mobilenet.data.input_pipeline decodes into pixels.
"""

import dataclasses
import os

import tensorflow as tf
import tensorflow_datasets as tfds

from mobilenet.errors import ParameterError, one_line

FOLDER_PREFIX = "folder:"


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A prepared dataset and the splits chosen for training and evaluation."""

    name: str
    builder: tfds.core.DatasetBuilder
    class_names: tuple
    train_split: str
    eval_split: str

    @property
    def num_classes(self):
        return len(self.class_names)

    def num_examples(self, split):
        return self.builder.info.splits[split].num_examples


def load_dataset(name, data_dir=None, train_split="", eval_split=""):
    """Prepares dataset `name` and chooses its splits.

    Args:
      name: a TFDS image-classification dataset with `image` and `label` features
        ("imagenette/160px-v2", "tf_flowers", ...), or "folder:PATH" for images laid out
        as PATH/<split>/<class>/<image>.
      data_dir: where TFDS keeps prepared datasets; None for TFDS' own default
        (the TFDS_DATA_DIR variable, else ~/tensorflow_datasets).
      train_split, eval_split: TFDS split expressions ("train", "train[:90%]", ...);
        empty to choose from what the dataset has: "train" for training, and
        "validation", "val" or "test" for evaluation, else the last 10 % of "train".

    Raises:
      ParameterError: with a one-line message naming the parameter at fault.
    """
    if name.startswith(FOLDER_PREFIX):
        builder = _folder_builder(name[len(FOLDER_PREFIX):])
    else:
        builder = _tfds_builder(name, data_dir)
    splits = builder.info.splits
    if not train_split:
        if "train" not in splits:
            raise ParameterError(f"{{dataset}} {name} has no 'train' split (it has {_names(splits)}): set {{train_split}}")
        train_split = "train"
        eval_split = eval_split or next((s for s in ("validation", "val", "test") if s in splits), "")
        if not eval_split and isinstance(builder, tfds.folder_dataset.ImageFolder):
            raise ParameterError(f"{{dataset}} {name} needs an evaluation split too: add a val/ (or test/) directory")
        if not eval_split:
            train_split, eval_split = "train[:90%]", "train[90%:]"
    elif not eval_split:
        raise ParameterError("{eval_split} is needed when {train_split} is given")
    dataset = Dataset(name, builder, tuple(builder.info.features["label"].names), train_split, eval_split)
    for parameter, split in (("train_split", train_split), ("eval_split", eval_split)):
        try:
            count = dataset.num_examples(split)
        except (KeyError, ValueError, AssertionError) as error:
            raise ParameterError(f"{{{parameter}}} {split!r} is not a split of {name} (it has {_names(splits)}): {error}") from None
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


def _folder_builder(path):
    if not os.path.isdir(path):
        raise ParameterError(f"{{dataset}} folder:{path}: no such directory")
    splits = [s for s in sorted(os.listdir(path)) if os.path.isdir(os.path.join(path, s))]
    for split in splits:
        split_dir = os.path.join(path, split)
        classes = [c for c in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, c))]
        if not classes:
            raise ParameterError(
                f"{{dataset}} folder:{path}: {split_dir} has no class directories; lay images out "
                "as PATH/<split>/<class>/<image>.jpg"
            )
    if not splits:
        raise ParameterError(
            f"{{dataset}} folder:{path} has no split directories; lay images out as "
            "PATH/<split>/<class>/<image>.jpg (e.g. PATH/train/cat/1.jpg)"
        )
    return tfds.folder_dataset.ImageFolder(path)


def encoded_examples(dataset, split, shuffle_files=False, seed=None):
    """(encoded image bytes, label, file name) triples, not yet decoded."""
    read_config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=False)
    # ImageFolder shuffles its files without a seed; the seeded shuffle buffer suffices.
    is_folder = isinstance(dataset.builder, tfds.folder_dataset.ImageFolder)
    examples = dataset.builder.as_dataset(
        split=split,
        shuffle_files=shuffle_files and not is_folder,
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=read_config,
    )
    return examples.map(
        lambda example: (example["image"], example["label"], example.get("image/filename", "")),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def class_counts(dataset, split):
    """Images per class in `split`, in label order (the labels alone are read)."""
    labels = encoded_examples(dataset, split).map(lambda image, label, name: label)
    counts = labels.reduce(tf.zeros(dataset.num_classes, tf.int64),
                           lambda counts, label: counts + tf.one_hot(label, dataset.num_classes, dtype=tf.int64))
    return [int(count) for count in counts.numpy()]


