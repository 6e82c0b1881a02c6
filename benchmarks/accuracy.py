"""Accuracy on Imagenette: the default config from scratch, fine-tuning α 0.25, and
fine-tuning on a user's small folder of images.

The small folder is the case of a user with little data: SMALL_CLASSES Imagenette classes,
SMALL_PER_CLASS training images each, written as JPEG files under runs/ (with every
validation image of those classes), then fine-tuned as one command would:

  python train.py --config configs/finetune.py --dataset folder:runs/imagenette_5x200 \
      --resolution 160 --init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5

Every run goes through `training.train`, so a finished run is reused (and an
interrupted one resumed) from its work directory; the curves come from history.csv.
"""

import os
import textwrap

import tensorflow_datasets as tfds

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import ticker

from benchmarks import common
from mobilenet import names
from mobilenet.configs import default, finetune
from mobilenet.data import datasets
from mobilenet.training import loop as training

SHARED_WEIGHTS = os.path.join("..", "shared", "models", "keras_applications", "mobilenet_2_5_224_tf_no_top.h5")
FINETUNE_WORKDIR = os.path.join("runs", "finetune_0.25_160")  # α 0.25 ρ 160 fine-tuned on all of Imagenette
SMALL_CLASSES, SMALL_PER_CLASS = 5, 200
SMALL_FOLDER = os.path.join("runs", f"imagenette_{SMALL_CLASSES}x{SMALL_PER_CLASS}")


def small_folder(path=SMALL_FOLDER):
    """Writes (once) path/train/<class>/*.jpg, SMALL_PER_CLASS images of each of the first
    SMALL_CLASSES Imagenette classes, and path/val/<class>/*.jpg, all their validation
    images: the files as TFDS holds them, not re-encoded."""
    if os.path.isdir(path):
        return path
    dataset = common.imagenette()
    partial = path + ".partial"
    for split, directory, limit in ((dataset.train_split, "train", SMALL_PER_CLASS),
                                    (dataset.eval_split, "val", None)):
        examples = dataset.builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
        counts = {}
        for example in examples.as_numpy_iterator():
            label = int(example["label"])
            if label >= SMALL_CLASSES or counts.get(label, 0) == limit:
                continue
            counts[label] = counts.get(label, 0) + 1
            folder = os.path.join(partial, directory, dataset.class_names[label])
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{counts[label]:04d}.jpg"), "wb") as file:
                file.write(example["image"])
    os.replace(partial, path)
    return path


def runs():
    scratch = default.get_config()
    scratch.data_dir = common.DATA_DIR
    tuned = finetune.get_config()
    tuned.update(data_dir=common.DATA_DIR, resolution=160, init_from=SHARED_WEIGHTS)
    folder = finetune.get_config()
    folder.update(dataset=f"{datasets.FOLDER_PREFIX}{small_folder()}", resolution=160, init_from=SHARED_WEIGHTS)
    return {
        "α 0.5, ρ 160 from scratch (configs/default.py)": (scratch, names.default_workdir(scratch.alpha, scratch.resolution), 0.88),
        "α 0.25, ρ 160 fine-tuned from Keras ImageNet weights (configs/finetune.py)": (
            tuned, FINETUNE_WORKDIR, 0.94),
        f"α 0.25, ρ 160 fine-tuned on a folder of {SMALL_CLASSES} Imagenette classes, {SMALL_PER_CLASS} images each "
        "(configs/finetune.py)": (folder, os.path.join("runs", f"finetune_folder_{SMALL_CLASSES}x{SMALL_PER_CLASS}"), None),
    }


def run():
    lines = ["## Accuracy on Imagenette (validation: 3,925 images; the small folder's: those of its classes)", "",
             "| Run | Epochs | Best top-1 (epoch) | Final top-1 | First epoch >= target | Target | Time per epoch |",
             "|---|---|---|---|---|---|---|"]
    notes = []
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    for (name, (config, workdir, target)), axis in zip(runs().items(), axes):
        history = training.train(config, workdir).history
        epochs = [row["epoch"] for row in history]
        top1 = [row["val_top1"] for row in history]
        reached = next((row["epoch"] for row in history if target and row["val_top1"] >= target), None)
        seconds = sorted(row["seconds"] for row in history)[len(history) // 2]
        best_epoch = epochs[top1.index(max(top1))]
        lines.append(f"| {name} | {len(history)} | {max(top1):.4f} ({best_epoch}) | {top1[-1]:.4f} | "
                     f"{reached or ('not reached' if target else '')} | {target or 'none'} | {seconds:.0f} s |")
        if best_epoch <= config.frozen_epochs < len(history):
            lowest = min(top1[config.frozen_epochs:])
            notes.append(f"{name.split(' (')[0]}: the best model is the new head alone on the frozen backbone "
                         f"(epoch {best_epoch}); once every layer trains, validation falls to {lowest:.4f} "
                         f"(epoch {epochs[top1.index(lowest)]}) and ends at {top1[-1]:.4f}. best.keras keeps epoch "
                         f"{best_epoch}.")
        axis.plot(epochs, [row["top1"] for row in history], label="train top-1 (augmented)")
        axis.plot(epochs, top1, label="validation top-1")
        if target:
            axis.axhline(target, color="grey", linestyle=":", label=f"target {target:.2f}")
        axis.set(title=textwrap.fill(name.split(" (")[0], 45), xlabel="epoch", ylabel="top-1", ylim=(0, 1))
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(os.path.join(common.DOCS, "training_curves.png"), dpi=100)
    lines += ["", *notes, "", "![training curves](training_curves.png)", "",
              "Time per epoch is the median, on this machine, including the validation pass."]
    return "\n".join(lines)
