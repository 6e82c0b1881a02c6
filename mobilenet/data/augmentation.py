"""Training-time augmentation: Keras' own image layers inside the `tf.data` pipeline.

Two stages, both in the training branch only (the evaluation pipeline and the exported
graph never see them), both taking and giving uint8 pixels:

* `image_augmentation(config)`, per image after the crop and flip: RandAugment
  (`randaugment_ops`, `randaugment_magnitude`), colour jitter (`color_jitter`) and random
  erasing (`random_erasing`);
* `batch_mixing(config)`, per batch of one-hot labels: MixUp (`mixup`, `mixup_alpha`) and
  CutMix (`cutmix`, `cutmix_factor`), one of the two at random for each batch when both are
  on. The labels become soft; each row still sums to 1.

Each returns None when its knobs are off, and the pipeline is then what it was. Keras'
layers draw from their own random generators: a resumed run gets the same images, crops
and flips as an uninterrupted one (input_pipeline.train_images), not the same draws of
these layers.
"""

import keras
import tensorflow as tf

from mobilenet.data.input_pipeline import to_uint8

VALUE_RANGE = (0, 255)


def image_augmentation(config):
    """A function of one uint8 (ρ, ρ, 3) image returning it augmented, or None if every
    per-image knob is off."""
    steps = []
    if config.randaugment_ops:
        steps.append(_randaugment(config.randaugment_ops, config.randaugment_magnitude, config.seed))
    if config.color_jitter:
        strength = config.color_jitter
        steps.append(keras.layers.RandomColorJitter(
            value_range=VALUE_RANGE,
            brightness_factor=strength / 4,  # a shift of up to a quarter of the range at strength 1
            contrast_factor=strength,
            saturation_factor=(0.5 - strength / 2, 0.5 + strength / 2),  # 0.5 leaves it unchanged
            seed=config.seed,
        ))
    if config.random_erasing:
        # A (p, p) range: each image is erased with probability p (a single p would draw it from [0, p]).
        steps.append(keras.layers.RandomErasing(
            factor=(config.random_erasing, config.random_erasing), value_range=VALUE_RANGE, seed=config.seed))
    if not steps:
        return None

    def augment(image):
        pixels = image
        for step in steps:
            pixels = step(pixels)
        return tf.ensure_shape(to_uint8(pixels), image.shape)

    return augment


def _randaugment(num_ops, magnitude, seed):
    """keras.layers.RandAugment's ops at its magnitude, `num_ops` of them drawn for each
    image. The layer itself computes all 11 ops on every image and keeps the drawn one with
    `where`, which makes the pipeline slower than training on a CPU (docs/BENCHMARKS.md);
    `switch_case` computes only the drawn ones.

    Two of the layer's ops are scaled the wrong way round in Keras 3.15: posterization keeps
    max(1, int(8 x magnitude)) bits and solarization inverts the pixels above a threshold
    drawn from [0, 255 x magnitude], so a low magnitude gives their strongest settings (one
    bit, every pixel inverted). Here they follow the RandAugment paper's scale, as the
    other nine do: up to 4 x magnitude bits dropped, and the pixels above a threshold drawn
    from [255 (1 - magnitude), 255] inverted.
    """
    operations = list(randaugment_operations(num_ops, magnitude, seed).values())

    def apply(image):
        pixels = tf.cast(image, tf.float32)
        for choice in tf.unstack(tf.random.uniform((num_ops,), maxval=len(operations), dtype=tf.int32)):
            branches = [lambda operation=operation, pixels=pixels: tf.ensure_shape(operation(pixels), image.shape)
                        for operation in operations]
            pixels = tf.ensure_shape(tf.switch_case(choice, branches), image.shape)
        return pixels

    return apply


def randaugment_operations(num_ops, magnitude, seed=None):
    """{name: op of one float image} of keras.layers.RandAugment, with posterization and
    solarization scaled as `_randaugment` says."""
    layer = keras.layers.RandAugment(value_range=VALUE_RANGE, num_ops=num_ops, factor=magnitude, seed=seed)
    operations = {name: getattr(layer, name) for name in layer._AUGMENT_LAYERS}
    bits = 8 - round(4 * magnitude)
    operations["random_posterization"] = keras.layers.RandomPosterization(
        factor=(bits, 8), value_range=VALUE_RANGE, seed=seed)  # keeps `bits` to 7 bits (all 8 at bits 8)
    operations["solarization"] = lambda pixels: tf.where(
        pixels >= 255 * (1 - magnitude * tf.random.uniform(())), 255 - pixels, pixels)
    return operations


def batch_mixing(config):
    """A function of (uint8 images, one-hot labels) batches returning them mixed, or None
    if MixUp and CutMix are both off."""
    mixers = []
    if config.mixup:
        mixers.append(keras.layers.MixUp(alpha=config.mixup_alpha, seed=config.seed))
    if config.cutmix:
        mixers.append(keras.layers.CutMix(factor=config.cutmix_factor, seed=config.seed))
    if not mixers:
        return None

    def mix(images, labels):
        def mixed(mixer):
            outputs = mixer({"images": images, "labels": labels})
            return to_uint8(outputs["images"]), tf.cast(outputs["labels"], labels.dtype)

        choice = tf.random.uniform((), maxval=len(mixers), dtype=tf.int32)
        mixed_images, mixed_labels = tf.switch_case(choice, [lambda mixer=mixer: mixed(mixer) for mixer in mixers])
        return tf.ensure_shape(mixed_images, images.shape), tf.ensure_shape(mixed_labels, labels.shape)

    return mix
