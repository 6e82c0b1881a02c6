"""Knowledge distillation on Imagenette: small students from scratch, with and without a teacher.

The teacher is the accuracy section's fine-tuned α 0.25, ρ 160 (configs/finetune.py from
Keras' ImageNet weights). Each student trains from scratch with configs/default.py, seed 0,
once alone and with the teacher (`--config.teacher`, configs/default.py's distillation
weight and temperature): α 0.25 at ρ 128 for 20 epochs, and the default model, α 0.5 at
ρ 160 for its 40 epochs (alone: the accuracy section's default run). Runs live in
runs/distillation/ and are reused by a later call.

  python -m benchmarks.run_all distillation
"""

import os

from benchmarks import accuracy, common
from mobilenet import names
from mobilenet.configs import default
from mobilenet.training import loop

WORKDIR = os.path.join("runs", "distillation")
# (α, ρ, epochs, target: the top-1 with a teacher, or the gain over the student alone)
STUDENTS = ((0.25, 128, 20, ("gain", 0.03)), (0.5, 160, 40, ("top-1", 0.88)))


def fine_tuned_teacher():
    """The accuracy section's fine-tuned run (trained here if it is not yet)."""
    config, workdir, _ = next(spec for name, spec in accuracy.runs().items()
                              if spec[0].init_from and "folder" not in name)
    return loop.train(config, workdir)


def student(alpha, resolution, epochs, teacher=""):
    config = default.get_config()
    is_default_run = not teacher and (alpha, resolution, epochs) == (config.alpha, config.resolution, config.epochs)
    config.update(alpha=alpha, resolution=resolution, epochs=epochs, data_dir=common.DATA_DIR, teacher=teacher)
    name = names.model_name(alpha, resolution) + (f"_teacher_w{config.distillation_weight:g}"
                                                  f"_t{config.distillation_temperature:g}" if teacher else "")
    workdir = names.default_workdir(alpha, resolution) if is_default_run else os.path.join(WORKDIR, name)
    return loop.train(config, workdir)


def run():
    teacher = fine_tuned_teacher()
    config = default.get_config()
    lines = ["## Knowledge distillation: small students from a fine-tuned teacher", "",
             f"Teacher: {teacher.best_model}, α 0.25 at ρ 160 fine-tuned from ImageNet weights, validation top-1 "
             f"{best_top1(teacher):.4f}. Students from scratch, configs/default.py, seed {config.seed}, alone and with "
             f"the teacher (`--config.teacher={teacher.best_model}`, configs/default.py's distillation weight "
             f"{config.distillation_weight:g} at temperature {config.distillation_temperature:g}); validation top-1 "
             "on the 3,925 images (`python -m benchmarks.run_all distillation`; runs in runs/distillation/).", "",
             "| Student | Epochs | Alone: last (best) | With the teacher: last (best) | Change | Target |",
             "|---|---|---|---|---|---|"]
    for alpha, resolution, epochs, (kind, target) in STUDENTS:
        alone = student(alpha, resolution, epochs)
        taught = student(alpha, resolution, epochs, teacher.best_model)
        change = taught.history[-1]["val_top1"] - alone.history[-1]["val_top1"]
        reached = (change if kind == "gain" else taught.history[-1]["val_top1"]) >= target
        lines.append(
            f"| α {alpha:g}, ρ {resolution} | {epochs} | {alone.history[-1]['val_top1']:.4f} ({best_top1(alone):.4f}) | "
            f"{taught.history[-1]['val_top1']:.4f} ({best_top1(taught):.4f}) | {100 * change:+.1f} points | "
            f"{kind} {f'+{100 * target:g} points' if kind == 'gain' else f'>= {target}'}: "
            f"{'reached' if reached else 'not reached'} |")
    lines += ["", "The teacher sees each training batch as the student does (the same crops and flips), resized to "
              "its own 160 pixels; the exported student is the same file, size and ops, as one trained alone "
              "(tests/test_distillation.py)."]
    return "\n".join(lines)


def best_top1(run):
    """The highest validation top-1 of a run's epochs."""
    return max(row["val_top1"] for row in run.history)
