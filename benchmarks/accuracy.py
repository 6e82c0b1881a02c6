"""Accuracy on Imagenette: the default config from scratch, and fine-tuning α 0.25.

Both runs go through `training.train`, so a finished run is reused (and an
interrupted one resumed) from its work directory; the curves come from history.csv.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import ticker

from benchmarks import common
from mobilenet import names
from mobilenet.configs import default, finetune
from mobilenet import training

SHARED_WEIGHTS = os.path.join("..", "shared", "models", "keras_applications", "mobilenet_2_5_224_tf_no_top.h5")


def runs():
    scratch = default.get_config()
    scratch.data_dir = common.DATA_DIR
    tuned = finetune.get_config()
    tuned.update(data_dir=common.DATA_DIR, resolution=160, init_from=SHARED_WEIGHTS)
    return {
        "α 0.5, ρ 160 from scratch (configs/default.py)": (scratch, names.default_workdir(scratch.alpha, scratch.resolution), 0.85),
        "α 0.25, ρ 160 fine-tuned from Keras ImageNet weights (configs/finetune.py)": (
            tuned, os.path.join("runs", "finetune_0.25_160"), 0.94),
    }


def run():
    lines = ["## Accuracy on Imagenette (validation, 3,925 images)", "",
             "| Run | Epochs | Best top-1 | Final top-1 | First epoch >= target | Target | Time per epoch |",
             "|---|---|---|---|---|---|---|"]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (name, (config, workdir, target)), axis in zip(runs().items(), axes):
        history = training.train(config, workdir).history
        epochs = [row["epoch"] for row in history]
        top1 = [row["val_top1"] for row in history]
        reached = next((row["epoch"] for row in history if row["val_top1"] >= target), None)
        seconds = sorted(row["seconds"] for row in history)[len(history) // 2]
        lines.append(f"| {name} | {len(history)} | {max(top1):.4f} | {top1[-1]:.4f} | "
                     f"{reached or 'not reached'} | {target:.2f} | {seconds:.0f} s |")
        axis.plot(epochs, [row["top1"] for row in history], label="train top-1 (augmented)")
        axis.plot(epochs, top1, label="validation top-1")
        axis.axhline(target, color="grey", linestyle=":", label=f"target {target:.2f}")
        axis.set(title=name.split(" (")[0], xlabel="epoch", ylabel="top-1", ylim=(0, 1))
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(os.path.join(common.DOCS, "training_curves.png"), dpi=100)
    lines += ["", "![training curves](training_curves.png)", "",
              "Time per epoch is the median, on this machine, including the validation pass."]
    return "\n".join(lines)
