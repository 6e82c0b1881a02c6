"""Fine-tuning when the backbone unfreezes: why validation fell, and the recipe that holds.

configs/finetune.py trains a new head on the frozen ImageNet backbone, then every layer.
Until 2026-12-02 validation collapsed at that switch on a small folder (0.93 to 0.47) and
dipped on Imagenette. The runs here take it apart on the accuracy section's two fine-tunes
(α 0.25, ρ 160: the small folder of 5 Imagenette classes × 200 images, and the whole of
Imagenette): the recipe before, the same with the batch norms' statistics measured on the
data before every validation (a diagnosis: it changes what validation sees, not what
trains), with each change of the new recipe alone, and configs/finetune.py itself (the
accuracy section's runs). Runs live in runs/fine_tuning/ and are reused by a later call.

  python -m benchmarks.run_all fine_tuning
"""

import os

import keras
from matplotlib.figure import Figure

from benchmarks import accuracy, common
from mobilenet.data import datasets
from mobilenet.training import batch_norm, loop

# The recipe this section studies, configs/finetune.py from 2026-12-02 to 2026-12-06: a head trained by
# SGD on the frozen backbone, then every layer (today's fits the head instead: few_photos section).
UNFREEZING = dict(fit_head=False, min_steps_per_phase=0, frozen_epochs=5, frozen_learning_rate=0.1, label_smoothing=0.1,
                  epochs=20, warmup_epochs=2, ema=False)
# The recipe before 2026-12-02, as overrides of that one.
BEFORE = dict(adapt_batch_norm=False, batch_norm_momentum=0.99, warmup_epochs=0)
WORKDIR = os.path.join("runs", "fine_tuning")
DROP_TARGET, GAIN_TARGET = 0.02, 0.02  # at most 2 points below the frozen phase's best; 2 points above it at the end


class StatisticsMeasuredBeforeValidation(keras.callbacks.Callback):
    """Before each validation, every trainable batch norm's statistics measured on training
    batches (mobilenet.training.batch_norm): what validation would score if the moving
    averages had caught up with the weights."""

    def __init__(self, make_batches):
        super().__init__()
        self.make_batches = make_batches

    def on_test_begin(self, logs=None):
        batch_norm.adapt(self.model, self.make_batches())


def variants(config, dataset):
    """{name: (config, callbacks)} of the runs that take the switch apart, on `config`'s data."""
    before = config.copy_and_resolve_references()
    before.update(BEFORE)
    measured = StatisticsMeasuredBeforeValidation(lambda: loop.training_stream(before, dataset))
    runs = {"before": (before, []), "before, statistics measured before each validation (diagnosis)": (before, [measured])}
    for name, change in ((f"before + batch-norm momentum {config.batch_norm_momentum}",
                          dict(batch_norm_momentum=config.batch_norm_momentum)),
                         ("before + statistics adapted to the data first", dict(adapt_batch_norm=True)),
                         (f"before + learning rates warmed up over {config.warmup_epochs:g} epochs",
                          dict(warmup_epochs=config.warmup_epochs))):
        changed = before.copy_and_resolve_references()
        changed.update(change)
        runs[name] = (changed, [])
    return runs


def summary(history, frozen_epochs):
    top1 = [row["val_top1"] for row in history]
    frozen_best = max(top1[:frozen_epochs])
    lowest = min(top1[frozen_epochs:])
    return {"frozen_best": frozen_best, "lowest": lowest, "lowest_epoch": top1.index(lowest, frozen_epochs) + 1,
            "final": top1[-1], "best": max(top1), "curve": top1}


def run():
    fine_tunes = {}
    for name, (config, _, target) in accuracy.runs().items():
        if config.init_from:
            config.update(UNFREEZING)
            slug = "folder" if "folder" in name else "imagenette"
            fine_tunes[name] = (config, os.path.join(WORKDIR, f"{slug}_unfreezing"), target)
    lines = ["## Fine-tuning: when the backbone unfreezes", "",
             "α 0.25, ρ 160 from Keras' ImageNet weights, 5 epochs on a frozen backbone then every layer "
             "(`python -m benchmarks.run_all fine_tuning`; runs in runs/fine_tuning/). Validation top-1: the frozen "
             "phase's best, the lowest after unfreezing, the last epoch's. Targets: after unfreezing never more "
             f"than {100 * DROP_TARGET:g} points below the frozen phase's best; at the end at least "
             f"{100 * GAIN_TARGET:g} points above it, where the data allows it.", "",
             "| Data | Recipe | Frozen phase's best | Lowest after unfreezing (epoch) | Change | Last epoch | "
             "Last − frozen best |", "|---|---|---|---|---|---|---|"]
    curves = {}
    for data_name, (config, workdir, _) in fine_tunes.items():
        short = "small folder" if "folder" in data_name else "Imagenette"
        results = {}
        dataset = datasets.load_dataset(config.dataset, config.data_dir or None)
        if short == "small folder":
            for name, (variant, callbacks) in variants(config, dataset).items():
                slug = name.split(",")[0].replace(" + ", "_").replace(" ", "_").replace(".", "")
                target = os.path.join(WORKDIR, f"folder_{slug}" + ("_measured" if callbacks else ""))
                results[name] = summary(loop.train(variant, target, callbacks).history, variant.frozen_epochs)
        else:
            before = config.copy_and_resolve_references()
            before.update(BEFORE)
            results["before"] = summary(loop.train(before, os.path.join(WORKDIR, "imagenette_before")).history,
                                        before.frozen_epochs)
        results["configs/finetune.py of 2026-12-02"] = summary(loop.train(config, workdir).history,
                                                               config.frozen_epochs)
        for name, result in results.items():
            drop = result["lowest"] - result["frozen_best"]
            mark = " ✓" if -drop <= DROP_TARGET else ""
            gain = result["final"] - result["frozen_best"]
            lines.append(f"| {short} | {name} | {result['frozen_best']:.4f} | {result['lowest']:.4f} "
                         f"({result['lowest_epoch']}) | {100 * drop:+.1f} points{mark} | {result['final']:.4f} | "
                         f"{100 * gain:+.1f} points{' ✓' if gain >= GAIN_TARGET else ''} |")
        curves[short] = {name: results[name]["curve"] for name in ("before", "configs/finetune.py of 2026-12-02")}
        if short == "small folder":
            diagnosis = results["before, statistics measured before each validation (diagnosis)"]
            warmed = next(result for name, result in results.items() if "warmed up" in name)
            steps = dataset.num_examples(dataset.train_split) // config.batch_size
            moved = 1 - BEFORE["batch_norm_momentum"] ** steps
            lines += ["", f"Small folder: the recipe before fell to {results['before']['lowest']:.4f} after "
                      f"unfreezing; with the same weights' batch-norm statistics measured before each validation, "
                      f"only to {diagnosis['lowest']:.4f}. So "
                      f"{100 * (diagnosis['lowest'] - results['before']['lowest']):.0f} points were the moving "
                      f"statistics lagging behind the weights ({steps} steps an epoch at momentum "
                      f"{BEFORE['batch_norm_momentum']} move them {moved:.0%} of the way). The rest is the switch "
                      "itself: a fresh optimizer at its full learning rate on weights it has not seen, and batch norms "
                      "that normalised with ImageNet's statistics while frozen and with each batch's once unfrozen "
                      f"(with the learning rates warmed up alone, the lowest is {warmed['lowest']:.4f}). "
                      "configs/finetune.py answers each: statistics measured on the data before the head learns, "
                      f"momentum {config.batch_norm_momentum}, and {config.warmup_epochs:g} epochs of warm-up in "
                      "each phase.", ""]
    figure = Figure(figsize=(12, 4.2))
    for axes, (short, by_recipe) in zip(figure.subplots(1, len(curves)), curves.items()):
        for name, curve in by_recipe.items():
            axes.plot(range(1, len(curve) + 1), curve, marker=".", label=name)
        frozen = next(iter(fine_tunes.values()))[0].frozen_epochs
        axes.axvline(frozen + 0.5, color="grey", linestyle=":", label="backbone unfrozen")
        axes.set(title=short, xlabel="epoch", ylabel="validation top-1")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(os.path.join(common.DOCS, "fine_tuning_curves.png"), dpi=100)
    lines += ["", "![validation top-1 before and after the change](fine_tuning_curves.png)"]
    return "\n".join(lines)
