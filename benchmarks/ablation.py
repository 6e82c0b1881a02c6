"""The training recipe, one knob at a time: what each of mobilenet.data.augmentation's knobs
and the EMA of the weights is worth, on a setting where a run takes minutes on a CPU.

α 0.25, ρ 128 from scratch on Imagenette for EPOCHS epochs, the default config's schedule.
The first row is the recipe before these knobs (crop, flip, label smoothing, dropout);
each other row adds one knob to it, or takes one of its regularisers away. Every row runs with seed 0; the baseline and each row
that beat it there run again with seed 1. The knobs kept are those still ahead over both
seeds; the default config's recipe is chosen from them, and measured at full size in the
accuracy section. Runs live in runs/ablation/ and are reused (or resumed) by a later call.

  python -m benchmarks.run_all ablation
"""

import dataclasses
import os
import statistics

import keras
import tensorflow as tf

from benchmarks import common
from mobilenet import configs
from mobilenet.configs import default
from mobilenet.data import input_pipeline
from mobilenet.training import loop as training
from mobilenet.training.run_directory import RunDirectory

ALPHA, RESOLUTION, EPOCHS = 0.25, 128, 20
SEEDS = (0, 1)
BASELINE = "recipe before these knobs"
KNOBS = {
    BASELINE: {},
    "+ RandAugment (2 ops, magnitude 0.2)": dict(randaugment_ops=2, randaugment_magnitude=0.2),
    "+ colour jitter 0.2": dict(color_jitter=0.2),
    "+ random erasing, p 0.25": dict(random_erasing=0.25),
    "+ MixUp (alpha 0.2)": dict(mixup=True, mixup_alpha=0.2),
    "+ CutMix (factor 1.0)": dict(cutmix=True, cutmix_factor=1.0),
    # A horizon of 500 steps, a sixth of the run's (Keras' average starts from the initial weights).
    "+ EMA of the weights (momentum 0.998)": dict(ema=True, ema_momentum=0.998),
    # Less regularisation, the other way: the paper trained its small models with less of it.
    "- dropout (0 instead of 0.2)": dict(dropout_rate=0.0),
    "- label smoothing (0 instead of 0.1)": dict(label_smoothing=0.0),
}
WORKDIR = os.path.join("runs", "ablation")


def config_for(knobs, seed):
    config = default.get_config()
    config.update(alpha=ALPHA, resolution=RESOLUTION, epochs=EPOCHS, data_dir=common.DATA_DIR, seed=seed,
                  **configs.AUGMENTATION_OFF)
    config.update(knobs)
    return config


def workdir_for(knobs, seed):
    slug = "_".join(f"{key}-{value}" for key, value in sorted(knobs.items())) or "baseline"
    return os.path.join(WORKDIR, f"{slug}_seed{seed}")


@dataclasses.dataclass
class Result:
    top1: float  # validation, after the last epoch (of the averaged weights when EMA is on)
    train_top1: float  # on the last epoch's augmented training images, as training saw them
    seconds: float  # the median epoch's


def final_result(name, knobs, seed):
    history = training.train(config_for(knobs, seed), workdir_for(knobs, seed)).history
    print(f"[ablation] {name}, seed {seed}: {history[-1]['val_top1']:.4f}", flush=True)
    return Result(history[-1]["val_top1"], history[-1]["top1"], statistics.median(row["seconds"] for row in history))


def run():
    results = {name: {SEEDS[0]: final_result(name, knobs, SEEDS[0])} for name, knobs in KNOBS.items()}
    baseline = results[BASELINE][SEEDS[0]].top1
    kept = [name for name in KNOBS if name != BASELINE and results[name][SEEDS[0]].top1 > baseline]
    for name in [BASELINE, *kept]:
        results[name][SEEDS[1]] = final_result(name, KNOBS[name], SEEDS[1])
    kept = [name for name in kept if mean(results[name]) > mean(results[BASELINE])]  # still ahead over both seeds

    lines = ["## Training recipe: one knob at a time", "",
             f"α {ALPHA}, ρ {RESOLUTION} from scratch on Imagenette, {EPOCHS} epochs of configs/default.py's schedule "
             "(`python -m benchmarks.run_all ablation`; runs in runs/ablation/). Validation top-1 after the last "
             "epoch, of the averaged weights when EMA is on. Each row adds one knob to the first; a row that beat "
             f"the first with seed {SEEDS[0]} ran again with seed {SEEDS[1]}. Training top-1 is that of the "
             f"last epoch, seed {SEEDS[0]}, on the images as training saw them (augmented, mixed).", "",
             "| Recipe | Top-1 per seed | Mean | Spread | Change of the mean | Training top-1 | Time per epoch |",
             "|---|---|---|---|---|---|---|"]
    for name, by_seed in results.items():
        top1 = [by_seed[seed].top1 for seed in sorted(by_seed)]
        seeds = ", ".join(f"{value:.4f} (seed {seed})" for seed, value in zip(sorted(by_seed), top1))
        shared = [seed for seed in by_seed if seed in results[BASELINE]]
        change = statistics.mean(by_seed[s].top1 - results[BASELINE][s].top1 for s in shared)
        spread = f"{max(top1) - min(top1):.4f}" if len(top1) > 1 else "one seed"
        seconds = statistics.median(result.seconds for result in by_seed.values())
        lines.append(f"| {name} | {seeds} | {statistics.mean(top1):.4f} | {spread} | "
                     f"{'' if name == BASELINE else f'{100 * change:+.1f} points'} | "
                     f"{by_seed[SEEDS[0]].train_top1:.4f} | {seconds:.0f} s |")
    lines += ["", "Kept (ahead of the first row over both seeds): " + ("; ".join(kept) or "none") + "."]
    baseline_top1 = [result.top1 for result in results[BASELINE].values()]
    lines += ["", f"The first row's seeds differ by {100 * (max(baseline_top1) - min(baseline_top1)):.1f} points: "
              "a change of one seed smaller than that is within the noise."]
    underfit = [name for name, by_seed in results.items() if by_seed[SEEDS[0]].train_top1 < by_seed[SEEDS[0]].top1]
    if len(underfit) == len(results):
        lines += ["Every row ends with a lower top-1 on its training images than on validation: at this size "
                  "and length the model underfits, and more augmentation or regularisation can only cost. A larger "
                  "model or a longer run that overfits (see the training curves of the accuracy section) may gain "
                  "from them, which this setting cannot show."]
    for name, knobs in KNOBS.items():
        if knobs.get("ema"):
            lines += ["", f"{name}, seed {SEEDS[0]}: the same averaged weights with the batch-norm statistics that "
                      f"training left (those of the trained weights, which Keras' `SwapEMAWeights` keeps) score "
                      f"{top1_with_trained_statistics(workdir_for(knobs, SEEDS[0])):.4f}; mobilenet.training.weight_averaging "
                      "measures the averaged network's own."]
            if results[name][SEEDS[0]].train_top1 == results[BASELINE][SEEDS[0]].train_top1:
                lines[-1] += (" Its training top-1 equals the first row's: averaging leaves training as it was, so "
                              "its change is the average's own, not a seed's.")
    return "\n".join(lines)


def top1_with_trained_statistics(workdir):
    """The validation top-1 of the last checkpoint's averaged weights, its batch norms
    keeping the statistics of the trained weights."""
    model = keras.saving.load_model(RunDirectory(workdir).saved_checkpoints()[-1][1], safe_mode=True)
    for variable, average in zip(model.optimizer._trainable_variables, model.optimizer._model_variables_moving_average):
        variable.assign(average)
    dataset = common.imagenette()
    images = input_pipeline.eval_images(dataset, RESOLUTION, 128).map(lambda x, y: (x, tf.one_hot(y, dataset.num_classes)))
    return model.evaluate(images, verbose=0, return_dict=True)["top1"]


def mean(by_seed):
    return statistics.mean(result.top1 for result in by_seed.values())
