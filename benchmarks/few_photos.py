"""Fine-tuning on few photos: 10 to 200 a class, measured on a large held-out set.

Folders as people have them (PATH/<class>/<image>, split here by hash: a few validation photos
a class) of 10, 20, 40 and 100 Imagenette training images of each of the accuracy section's 5
classes, and that section's folder of 200 a class. Each is fine-tuned at α 0.25, ρ 160 from
Keras' ImageNet weights with configs/finetune.py (the head fitted on the frozen features, a
minimum of steps, the weights' moving average kept) with three seeds, since a run's held-out
top-1 moves by about a point with its seed alone; with the same seeds as configs/finetune.py was
until 2026-12-06's evening (the same steps cut into 20 epochs, the last step's weights kept, and
below a dozen photos a class a head learning rate of 0.0002); once with the default's label
smoothing (0.1, which it had until 2026-12-06); and once with the recipe before it (a head
trained by SGD at learning rate 0.1 on the frozen backbone for 5 epochs, then every layer). All
are exported to int8 and evaluated on all of Imagenette's validation images of those classes
(about 1,950), which no run trains or validates on, except the 200 folder, whose validation
split they are; from 100 a class up also after each epoch, since 2 points of a folder's hundred
validation photos are 2 photos, well inside their 95 % interval. Beside them, a linear probe:
scikit-learn's L2 logistic regression (strength by 5-fold cross-validation) fitted on the frozen
ImageNet backbone's features of the same training photos. Runs in runs/few_photos/.

  python -m benchmarks.run_all few_photos
"""

import json
import os
import shutil

import keras
import numpy as np
from matplotlib.figure import Figure

from benchmarks import accuracy, common
from mobilenet import files, intervals
from mobilenet.configs import finetune
from mobilenet.data import datasets, input_pipeline
from mobilenet.exporting import comparison, release
from mobilenet.model import network, transfer
from mobilenet.training import loop
from mobilenet.training.run_directory import RunDirectory

PER_CLASS = (10, 20, 40, 100, 200)
RESOLUTION = 160
WORKDIR = os.path.join("runs", "few_photos")
# configs/finetune.py until 2026-12-06's evening: 20 epochs of 15 steps (on these folders the
# steps of its 10 of 30 since), the last step's weights kept rather than their average, and below
# a dozen photos a class the head alone at a learning rate of 0.0002.
TWENTY_EPOCHS = dict(epochs=20, warmup_epochs=2, frozen_learning_rate=0.0002, ema=False)
# The recipe before: the head trained by SGD on the frozen backbone, then every layer.
BEFORE = dict(fit_head=False, min_steps_per_phase=0, frozen_epochs=5, frozen_learning_rate=0.1, label_smoothing=0.1,
              epochs=20, warmup_epochs=2, ema=False)
NEW, PREVIOUS = "configs/finetune.py", "before (SGD head, then every layer)"
# {recipe: (its runs' directory prefix, its overrides of configs/finetune.py, its seeds)}; the
# third is configs/finetune.py with the default's label smoothing, which it had until 2026-12-06.
RECIPES = {NEW: ("new", {}, (0, 1, 2)),
           "configs/finetune.py to 2026-12-06: 20 epochs, no average": ("twenty", TWENTY_EPOCHS, (0, 1, 2)),
           "configs/finetune.py, label smoothing 0.1": ("smoothed", dict(label_smoothing=0.1), (0,)),
           PREVIOUS: ("before", BEFORE, (0,))}
LAST_WITHIN, FROM_PER_CLASS = 0.02, 100  # the last epoch within 2 points of the best, from 100 a class up


def folder(per_class):
    """runs/few_photos/folders/<per_class>/<class>/*.jpg: the first `per_class` training images of
    each class of the accuracy section's small folder (its 200 for 200)."""
    small = accuracy.small_folder()
    if per_class == accuracy.SMALL_PER_CLASS:
        return small
    path = os.path.join(WORKDIR, "folders", str(per_class))
    if not os.path.isdir(path):
        partial = path + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        for name in sorted(os.listdir(os.path.join(small, "train"))):
            os.makedirs(os.path.join(partial, name))
            for image in sorted(os.listdir(os.path.join(small, "train", name)))[:per_class]:
                shutil.copyfile(os.path.join(small, "train", name, image), os.path.join(partial, name, image))
        os.replace(partial, path)
    return path


def linear_probe(train_folder, held_out):
    """Held-out top-1 of scikit-learn's L2 logistic regression on the frozen ImageNet backbone's
    pooled features (the evaluation crop) of the folder's training photos."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = network.mobilenet_v1(0.25, RESOLUTION, num_classes=1)
    transfer.load_backbone_weights(model, accuracy.SHARED_WEIGHTS, 0.25, RESOLUTION)
    extractor = keras.Model(model.input, model.get_layer("global_average_pooling").output)

    def features(dataset, split):
        pairs = [(extractor.predict_on_batch(pixels).reshape(len(pixels), -1), labels) for pixels, labels in
                 input_pipeline.eval_images(dataset, RESOLUTION, 64, split=split, cache=False).as_numpy_iterator()]
        return np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])

    x, y = features(datasets.load_dataset(f"folder:{train_folder}"), "train")
    probe = make_pipeline(StandardScaler(),
                          LogisticRegressionCV(Cs=10, cv=5, max_iter=10_000, use_legacy_attributes=False))
    probe.fit(x, y)
    held_x, held_y = features(held_out, "val")
    return float(np.mean(probe.predict(held_x) == held_y))


def run():
    held_out = datasets.load_dataset(f"folder:{accuracy.small_folder()}")
    held_out_batches = list(input_pipeline.eval_images(held_out, RESOLUTION, 128, split="val").as_numpy_iterator())
    rows, curves = [], {}
    for per_class in PER_CLASS:
        data = folder(per_class)
        probe = linear_probe(data, held_out)
        curve_on = held_out_batches if per_class >= FROM_PER_CLASS else None
        for recipe, (slug, overrides, seeds) in RECIPES.items():
            seeds = [fine_tune(data, f"{per_class}_{slug}_seed{seed}", overrides, seed, curve_on) for seed in seeds]
            rows.append({"per_class": per_class, "recipe": recipe, "train": training_images(data),
                         "validation": seeds[0]["validation"], "probe": probe, "seeds": seeds,
                         "examples": seeds[0]["examples"]})
            curves[(per_class, recipe)] = (seeds[0]["losses"], seeds[0]["curve"], seeds[0]["held_out_curve"])
    return table(rows) + "\n\n" + plot(curves)


def fine_tune(data, run_name, overrides, seed, curve_on=None):
    """One run of configs/finetune.py with `overrides` on the folder `data`, in
    WORKDIR/`run_name`: its curves and its int8 file's held-out top-1. With `curve_on` (the
    held-out batches), also the held-out curve; a run without all of it trains again."""
    config = finetune.get_config()
    config.update(dataset=f"folder:{data}", resolution=RESOLUTION, init_from=accuracy.SHARED_WEIGHTS, seed=seed,
                  **overrides)
    workdir = os.path.join(WORKDIR, run_name)
    # The 200 folder's validation split is the held-out set: its validation curve is that curve.
    validates_on_held_out = data == accuracy.small_folder()
    curve = (HeldOutCurve(curve_on, os.path.join(workdir, "held_out_curve.json"))
             if curve_on and not validates_on_held_out else None)
    if curve and any(row["epoch"] not in curve.top1 for row in RunDirectory(workdir).read_history()):
        shutil.rmtree(workdir)
        curve.top1 = {}
    history = loop.train(config, workdir, callbacks=[curve] if curve else []).history
    exported = release.export(workdir, threads=(), card=False, evaluate=False)
    evaluation = comparison.evaluate_tflite(exported.tflite, f"folder:{accuracy.small_folder()}", split="val")
    losses, validation = [row["loss"] for row in history], [row["val_top1"] for row in history]
    if validates_on_held_out:
        held_out_curve = validation
    else:
        held_out_curve = [curve.top1[row["epoch"]] for row in history] if curve else None
    return {"seed": seed, "validation": int(history[-1]["val_examples"]), "losses": losses, "curve": validation,
            "held_out_curve": held_out_curve, "held_out": evaluation.tflite.top1,
            "keras_held_out": evaluation.keras.top1, "examples": evaluation.examples}


class HeldOutCurve(keras.callbacks.Callback):
    """Top-1 on the held-out batches of what each epoch's validation sees (with config.ema the
    weights' average, which loop.train's own callbacks put in the model before this one is
    called), kept in `path` as {epoch: top1}."""

    def __init__(self, batches, path):
        super().__init__()
        self.batches, self.path, self.epoch, self.top1 = batches, path, None, {}
        if os.path.isfile(path):
            with open(path) as file:
                self.top1 = {int(epoch): top1 for epoch, top1 in json.load(file).items()}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1  # Keras counts from 0, the run's history from 1

    def on_test_begin(self, logs=None):
        right = sum(int(np.sum(np.argmax(self.model(images, training=False), axis=-1) == labels))
                    for images, labels in self.batches)
        self.top1[self.epoch] = right / sum(len(labels) for _, labels in self.batches)
        files.write_atomically(self.path, json.dumps(self.top1))


def training_images(data):
    return datasets.load_dataset(f"folder:{data}").num_examples("train")


def table(rows):
    lines = ["## Fine-tuning on few photos", "",
             f"α 0.25, ρ {RESOLUTION} from Keras' ImageNet weights, on folders of 5 Imagenette classes "
             f"(`python -m benchmarks.run_all few_photos`; runs in {WORKDIR}/). Held-out top-1: the int8 file on "
             f"all {rows[0]['examples']:,} Imagenette validation images of those classes. Linear probe: "
             "scikit-learn's L2 logistic regression, strength by 5-fold cross-validation, on the frozen ImageNet "
             "features of the same training photos (float). configs/finetune.py, as it is and as it was to "
             f"2026-12-06, runs with seeds {', '.join(map(str, RECIPES[NEW][2]))}: its held-out top-1 is their "
             "mean, each seed's after it; the held-out target is met by the mean, the others by every seed. From "
             "20 photos a class up the two take the same optimizer steps, cut into epochs differently (10 of 30, "
             "20 of 15), and keep different weights (the moving average, the last step's). "
             "Targets: the training loss never above its first epoch's; held-out at least the probe's; from "
             f"{FROM_PER_CLASS} a class up, the last epoch within {100 * LAST_WITHIN:g} points of the best on the "
             "held-out images (the Keras model validation sees, after each epoch; at "
             f"{PER_CLASS[-1]} a class they are the validation split), since on a folder's hundred validation photos "
             f"{100 * LAST_WITHIN:g} points are {round(LAST_WITHIN * 100)} photos, inside the last epoch's 95 % "
             f"interval (beside it); no worse than the recipe before at {PER_CLASS[-1]} a class. ✓ marks a target "
             "met, ✗ one missed. The loss and epoch columns show the seed farthest from its target (validation: "
             "the seed whose last epoch is farthest below its best).", "",
             "| Photos a class | Recipe | Training / validation images | Loss: first epoch, highest | "
             "Validation top-1: best, last (its 95 % interval) | Held-out top-1 after each epoch, Keras: best, last | "
             "Held-out top-1, int8 (each seed) | Keras | Linear probe |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        seeds = row["seeds"]
        # The seed farthest from each target: the one it holds or fails on.
        rise = max(seeds, key=lambda run: max(run["losses"]) - run["losses"][0])
        loss_ok = mark(max(rise["losses"]) <= rise["losses"][0])
        first_and_highest = f"{rise['losses'][0]:.3f}, {max(rise['losses']):.3f}"
        fall = max(seeds, key=lambda run: gap(run["curve"]))
        best_and_last = f"{max(fall['curve']):.3f}, {fall['curve'][-1]:.3f}"
        if row["validation"] < intervals.SMALL:
            best_and_last += " ({:.3f}-{:.3f})".format(*intervals.wilson(fall["curve"][-1], row["validation"]))
        held_out_fall = ""
        if row["per_class"] >= FROM_PER_CLASS:
            worst = max(seeds, key=lambda run: gap(run["held_out_curve"]))
            held_out_fall = cell(f"{max(worst['held_out_curve']):.4f}, {worst['held_out_curve'][-1]:.4f}",
                                 mark(gap(worst["held_out_curve"]) <= LAST_WITHIN), seed_of(worst, seeds))
        held_out = mean(seeds, "held_out")
        each = " (" + ", ".join(f"{run['held_out']:.4f}" for run in seeds) + ")" if len(seeds) > 1 else ""
        lines.append(f"| {row['per_class']} | {row['recipe']} | {row['train']} / {row['validation']} | "
                     f"{cell(first_and_highest, loss_ok, seed_of(rise, seeds))} | "
                     f"{cell(best_and_last, seed_of(fall, seeds))} | {held_out_fall} | "
                     f"{held_out:.4f} {mark(held_out >= row['probe'])}{each} | "
                     f"{mean(seeds, 'keras_held_out'):.4f} | {row['probe']:.4f} |")
    new, before = (mean(next(row for row in rows if row["per_class"] == PER_CLASS[-1] and row["recipe"] == recipe)
                        ["seeds"], "held_out") for recipe in (NEW, PREVIOUS))
    lines += ["", f"At {PER_CLASS[-1]} a class: held-out {new:.4f} with configs/finetune.py, {before:.4f} with the "
                  f"recipe before ({'✓ no worse' if new >= before else '✗ worse'})."]
    return "\n".join(lines)


def gap(curve):
    """How far the last epoch is below the best; rounded, so that 0.94 - 0.92 is 2 points, not
    0.020000000000000018."""
    return round(max(curve) - curve[-1], 6)


def seed_of(run, runs):
    return f"(seed {run['seed']})" if len(runs) > 1 else ""


def cell(*parts):
    return " ".join(part for part in parts if part)


def mark(met):
    return "✓" if met else "✗"


def mean(runs, key):
    return float(np.mean([run[key] for run in runs]))


def plot(curves):
    figure = Figure(figsize=(3.2 * len(PER_CLASS), 6))
    axes = figure.subplots(2, len(PER_CLASS), squeeze=False)
    for column, per_class in enumerate(PER_CLASS):
        for recipe in RECIPES:
            losses, validation, held_out_curve = curves[(per_class, recipe)]
            # Recipes cut their steps into epochs differently: each epoch at its share of the run.
            progress = 100 * np.arange(1, len(losses) + 1) / len(losses)
            axes[0][column].plot(progress, losses, marker=".", label=recipe)
            line, = axes[1][column].plot(progress, validation, marker=".", label=recipe)
            if held_out_curve and held_out_curve != validation:
                axes[1][column].plot(progress, held_out_curve, linestyle="--", color=line.get_color())
        axes[0][column].set(title=f"{per_class} photos a class", ylabel="training loss")
        axes[1][column].set(xlabel="% of the run (end of each epoch)", ylabel="validation top-1 (dashed: held-out)")
        for row in axes:
            row[column].grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(os.path.join(common.DOCS, "few_photos_curves.png"), dpi=90)
    return ("![training loss and validation top-1 of each recipe, seed 0; at 100 a class, dashed, the held-out "
            "top-1 after each epoch](few_photos_curves.png)")
