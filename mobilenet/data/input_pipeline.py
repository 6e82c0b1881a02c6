"""The `tf.data` pipelines: encoded images in, uint8 pixels out.

`train_images`, `eval_images` and `calibration_images` read a mobilenet.data.datasets
Dataset. Every pipeline yields raw uint8 RGB pixels of shape (ρ, ρ, 3): the model
normalises inside, so Keras training, Keras evaluation and the `.tflite` all see the
same pixels a phone's camera pipeline would give.
"""

import numpy as np
import tensorflow as tf

from mobilenet.model import preprocessing

# How JPEGs are decoded: the accurate integer IDCT (libjpeg's JDCT_ISLOW) that browsers,
# Android and PIL use, so that an app's pixels are the evaluation's (mobilenet/web checks it).
JPEG_DCT_METHOD = "INTEGER_ACCURATE"
# What `decode` reads (tf.io.decode_image), named in every message about a file that is not one.
READABLE_FORMATS = "JPEG, PNG, BMP, GIF or WebP"
# Encoded images are cached in memory when the whole dataset is smaller than this.
CACHE_LIMIT_BYTES = 4 * 2**30


def decode(image_bytes):
    """An encoded image (READABLE_FORMATS) as uint8 RGB pixels at its own size."""
    # channels=3 makes grayscale, RGBA and palette images RGB. JPEGs are decoded with
    # libjpeg's accurate integer IDCT, as browsers, Android (Skia) and PIL decode them:
    # TensorFlow's default, its fast IDCT, moves pixels by up to ~15 levels.
    return tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.io.decode_jpeg(image_bytes, channels=3, dct_method=JPEG_DCT_METHOD),
        lambda: tf.io.decode_image(image_bytes, channels=3, expand_animations=False),
    )


def to_uint8(pixels):
    """Float pixels rounded and clipped to uint8."""
    return tf.cast(tf.clip_by_value(tf.round(pixels), 0, 255), tf.uint8)


def _to_pixels(image, resolution):
    image = tf.image.resize(image, (resolution, resolution), method="bilinear")
    # A static shape, for the augmentation layers.
    return tf.ensure_shape(to_uint8(image), (resolution, resolution, 3))


def image_shape(image_bytes):
    """(height, width, channels) of an encoded image, read from a JPEG's header without decoding it."""
    return tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.image.extract_jpeg_shape(image_bytes),
        lambda: tf.shape(decode(image_bytes), out_type=tf.int32),
    )


def native_resolution(dataset, count=200, seed=0):
    """The median short side, in pixels, of `count` training images drawn with `seed`: the
    resolution the data really has (an input side above it only upsamples the images)."""
    examples = dataset.examples(dataset.train_split, shuffle_files=True, seed=seed).shuffle(10 * count, seed=seed)
    sides = examples.take(count).map(lambda image, label, name: tf.reduce_min(image_shape(image)[:2]),
                                     num_parallel_calls=tf.data.AUTOTUNE)
    return int(np.median(list(sides.as_numpy_iterator())))


def preprocess_for_train(image_bytes, resolution, seed, area_range=(0.08, 1.0)):
    """Inception-style random crop and flip, decoding only the crop of a JPEG."""
    is_jpeg = tf.io.is_jpeg(image_bytes)
    shape = image_shape(image_bytes)
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape,
        bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=(1, 1, 4)),
        seed=seed,
        min_object_covered=0.1,
        aspect_ratio_range=(3 / 4, 4 / 3),
        area_range=area_range,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop_window = tf.stack([begin[0], begin[1], size[0], size[1]])
    image = tf.cond(
        is_jpeg,
        lambda: tf.image.decode_and_crop_jpeg(image_bytes, crop_window, channels=3, dct_method=JPEG_DCT_METHOD),
        lambda: tf.slice(decode(image_bytes), begin, size),
    )
    image = tf.image.stateless_random_flip_left_right(image, seed=seed[::-1])
    return _to_pixels(image, resolution)


def preprocess_for_eval(image_bytes, resolution, crop_fraction=preprocessing.CROP_FRACTION):
    """The central `crop_fraction` of the image resized to ρ x ρ, as the paper's models were
    evaluated (mobilenet.model.preprocessing)."""
    image = tf.image.central_crop(decode(image_bytes), crop_fraction)
    return _to_pixels(image, resolution)


def _cache_if_small(examples, dataset):
    return examples.cache() if 0 < dataset.size_bytes < CACHE_LIMIT_BYTES else examples


def train_images(dataset, resolution, batch_size, seed=0, area_range=(0.08, 1.0), shuffle_buffer=10_000,
                 start_batch=0, augment_image=None, batch_stages=()):
    """An endless, shuffled stream of augmented (uint8 pixels, one-hot label) batches, from
    batch `start_batch` on.

    The same stream for a given seed: files and examples are shuffled with it, and each
    example's crop and flip come from a stateless seed (seed, position in the stream). So
    batch N is always the same whatever came before it in this process, and a resumed run
    starts at its step: the batches before are skipped still encoded, before any decoding.
    `augment_image` (of one uint8 image) runs after the crop and flip; `batch_stages`, functions
    of a batch (images, targets, ...) returning one, after batching, in order (MixUp or CutMix,
    a teacher's scores, per-image weights: mobilenet.training.loop chooses them).
    """
    examples = dataset.examples(dataset.train_split, shuffle_files=True, seed=seed)
    examples = _cache_if_small(examples.map(lambda image, label, name: (image, label)), dataset)
    examples = examples.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    examples = tf.data.Dataset.zip(examples, tf.data.Dataset.counter()).skip(start_batch * batch_size)
    augment_image = augment_image or (lambda image: image)
    examples = examples.map(
        lambda example, index: (
            augment_image(preprocess_for_train(example[0], resolution, tf.stack([tf.cast(seed, tf.int64), index]),
                                               area_range)),
            tf.one_hot(example[1], dataset.num_classes),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    batches = examples.batch(batch_size, drop_remainder=True)
    for stage in batch_stages:
        batches = batches.map(stage, num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


def eval_images(dataset, resolution, batch_size, split=None, cache=True, crop_fraction=preprocessing.CROP_FRACTION):
    """(uint8 pixels, label) batches of the eval split (or `split`), in file order."""
    examples = dataset.examples(split or dataset.eval_split)
    examples = examples.map(
        lambda image, label, name: (preprocess_for_eval(image, resolution, crop_fraction), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if cache:
        examples = _cache_if_small(examples, dataset)
    return examples.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def calibration_images(dataset, resolution, count, seed=0):
    """`count` training images through the eval preprocessing, for int8 calibration."""
    examples = dataset.examples(dataset.train_split, shuffle_files=True, seed=seed)
    examples = examples.shuffle(10 * count, seed=seed).take(count)
    return examples.map(
        lambda image, label, name: preprocess_for_eval(image, resolution),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
