"""The published accuracy source: each α × ρ's ImageNet top-1 beside its int8 latency here.

No training: each architecture is converted with random weights and calibration (weights
do not change the time), so a hardware-aware Pareto front takes minutes, for a user who will
fine-tune from ImageNet weights or wants an ImageNet classifier.

With `micro`, each architecture is also converted for TensorFlow Lite Micro at the user's
class count, and its flash (the file's bytes) and arena (the smallest TFLM allocates it in)
measured: neither depends on the trained values. A random network's signal dies out layer
by layer, down to logits with no range, a softmax TFLM cannot run; so its batch-norm
statistics are first set from the calibration images (mobilenet.training.batch_norm), as
a trained network's are from its data, and every layer carries a live signal. A point
without a published top-1 (ρ 96, or an α TF-Slim did not publish) is measured too, its
accuracy None.
"""

from mobilenet.converting import conversion, micro_conversion
from mobilenet.measure import tflm
from mobilenet.model import complexity, network
from mobilenet.training import batch_norm

# ImageNet top-1 (%, single central crop) of the float MobileNet V1 checkpoints, from the
# table of tensorflow/models research/slim/nets/mobilenet_v1.md (the 2018 release of the
# 2017 checkpoints that keras.applications' ImageNet weights were converted from).
PUBLISHED_TOP1 = {
    (1.0, 224): 70.9, (1.0, 192): 70.0, (1.0, 160): 68.0, (1.0, 128): 65.2,
    (0.75, 224): 68.4, (0.75, 192): 67.2, (0.75, 160): 65.3, (0.75, 128): 62.1,
    (0.5, 224): 63.3, (0.5, 192): 61.7, (0.5, 160): 59.1, (0.5, 128): 56.3,
    (0.25, 224): 49.8, (0.25, 192): 47.7, (0.25, 160): 45.5, (0.25, 128): 41.5,
}


def rows(points, num_classes=1000, micro=False):
    """(rows of published ImageNet top-1, {(α, ρ): int8 file bytes}) of each architecture: the
    sweep times the files. `num_classes` sizes the classifier (its flash); with `micro`, each row
    also has flash_kib and arena_kib of its TFLM file (see the module's docstring)."""
    contents, table = {}, []
    for alpha, resolution in points:
        model = network.mobilenet_v1(alpha, resolution, num_classes=num_classes)
        images = conversion.random_calibration_images(resolution)
        contents[(alpha, resolution)] = conversion.convert(model, "int8", images)
        cost = complexity.model_cost(model)
        top1 = PUBLISHED_TOP1.get((alpha, resolution))
        row = {"alpha": alpha, "resolution": resolution, "mult_adds_m": cost.mult_adds / 1e6,
               "params_m": cost.params / 1e6, "int8_size_mb": len(contents[(alpha, resolution)]) / 1e6,
               "published_top1": None if top1 is None else top1 / 100, "num_classes": num_classes}
        if micro:
            row.update(micro_costs(model, images, num_classes))
        table.append(row)
        print(f"[sweep] converted alpha {alpha:g}, resolution {resolution} (random weights)"
              + (f": TFLM flash {row['flash_kib']:.1f} KiB, arena {row['arena_kib']:.1f} KiB" if micro else ""),
              flush=True)
    return table, contents


def micro_costs(model, images, num_classes):
    """{"flash_kib", "arena_kib"} of `model` (random weights) converted for TFLM, its
    batch-norm statistics set from `images` first."""
    import tensorflow as tf

    batch_norm.adapt(model, tf.data.Dataset.from_tensors((images,)))
    content = micro_conversion.convert_for_micro(model, images, [f"class_{index}" for index in range(num_classes)],
                                                 name=f"MobileNet V1 {model.name}")
    return {"flash_kib": len(content) / 1024, "arena_kib": tflm.smallest_arena(content) / 1024}
