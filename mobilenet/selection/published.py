"""The published accuracy source: each α × ρ's ImageNet top-1 beside its int8 latency here.

No training: each architecture is converted with random weights and calibration (weights
do not change the time), so a hardware-aware Pareto front takes minutes, for a user who will
fine-tune from ImageNet weights or wants an ImageNet classifier.
"""

from mobilenet.converting import conversion
from mobilenet.model import complexity, network

# ImageNet top-1 (%, single central crop) of the float MobileNet V1 checkpoints, from the
# table of tensorflow/models research/slim/nets/mobilenet_v1.md (the 2018 release of the
# 2017 checkpoints that keras.applications' ImageNet weights were converted from).
PUBLISHED_TOP1 = {
    (1.0, 224): 70.9, (1.0, 192): 70.0, (1.0, 160): 68.0, (1.0, 128): 65.2,
    (0.75, 224): 68.4, (0.75, 192): 67.2, (0.75, 160): 65.3, (0.75, 128): 62.1,
    (0.5, 224): 63.3, (0.5, 192): 61.7, (0.5, 160): 59.1, (0.5, 128): 56.3,
    (0.25, 224): 49.8, (0.25, 192): 47.7, (0.25, 160): 45.5, (0.25, 128): 41.5,
}


def rows(points):
    """(rows of published ImageNet top-1, {(α, ρ): int8 file bytes}) of each architecture: the
    sweep times the files."""
    contents, table = {}, []
    for alpha, resolution in points:
        model = network.mobilenet_v1(alpha, resolution, num_classes=1000)
        contents[(alpha, resolution)] = conversion.convert(model, "int8", conversion.random_calibration_images(resolution))
        cost = complexity.model_cost(model)
        table.append({"alpha": alpha, "resolution": resolution, "mult_adds_m": cost.mult_adds / 1e6,
                     "params_m": cost.params / 1e6, "int8_size_mb": len(contents[(alpha, resolution)]) / 1e6,
                     "published_top1": PUBLISHED_TOP1[(alpha, resolution)] / 100})
        print(f"[sweep] converted alpha {alpha:g}, resolution {resolution} (random weights)", flush=True)
    return table, contents
