"""docs/PAPER_TABLES.md: the paper's Tables 2 and 4-7 beside what this project computes.

  python -m benchmarks.paper_tables --sweep runs/sweep      (run by `make sweep`)

Costs (mult-adds, parameters) are computed from the built Keras models with 1000 classes,
the paper's setting, and must match it. Accuracy and latency come from the α × ρ sweep
in --sweep (`python -m mobilenet sweep` on imagenette/160px-v2, int8 `.tflite`, this CPU): a
small-scale analogue of the paper's ImageNet top-1, not a reproduction of it. The
sweep's own table and plots are copied beside it, into docs/.
"""

import csv
import os
import shutil

from absl import app, flags

from benchmarks import common
from mobilenet import files, names
from mobilenet.model import complexity, network as model_lib

# The paper's figures (Howard et al. 2017, arXiv 1704.04861): ImageNet top-1 (%), mult-adds
# (millions), parameters (millions).
PAPER_TABLE_2 = {"Conv 1x1": (94.86, 74.59), "Conv DW 3x3": (3.06, 1.06), "Conv 3x3": (1.19, 0.02),
                 "Fully Connected": (0.18, 24.33)}
PAPER_TABLE_4 = {"full_conv": ("Conv MobileNet", 71.7, 4866, 29.3), "standard": ("MobileNet", 70.6, 569, 4.2)}
PAPER_TABLE_5 = {0.75: ("0.75 MobileNet", 68.4, 325, 2.6), "shallow": ("Shallow MobileNet", 65.3, 307, 2.9)}
PAPER_TABLE_6 = {1.0: (70.6, 569, 4.2), 0.75: (68.4, 325, 2.6), 0.5: (63.7, 149, 1.3), 0.25: (50.6, 41, 0.5)}
PAPER_TABLE_7 = {224: (70.6, 569, 4.2), 192: (69.1, 418, 4.2), 160: (67.2, 290, 4.2), 128: (64.4, 186, 4.2)}
SWEEP_FILES = (names.SWEEP_TABLE, *names.SWEEP_PLOTS.values())


def cost(alpha=1.0, resolution=224, variant="standard"):
    return complexity.model_cost(model_lib.mobilenet_v1(alpha, resolution, num_classes=1000, variant=variant))


def read_sweep(directory):
    """{(alpha, resolution): row} of the sweep's sweep.csv, or {} when there is none."""
    path = os.path.join(directory, names.SWEEP_CSV)
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        return {(float(row["alpha"]), int(row["resolution"])): row for row in csv.DictReader(file)}


def held_at(sweep, varied, position, preferred):
    """The value of the other axis at which the sweep has models for the most values in `varied`
    (position 0: α varies, 1: ρ varies): the paper's `preferred` one among those, else the
    largest. The full grid holds the paper's; the paper grid holds ρ 128 and α 0.5, with ρ only
    up to the data's own resolution (mobilenet.selection.sweep_runner)."""
    def models_at(value):
        return sum(((key, value) if position == 0 else (value, key)) in sweep for key in varied)

    others = {point[1 - position] for point in sweep}
    most = max(map(models_at, others), default=0)
    held = [value for value in others if models_at(value) == most]
    return preferred if preferred in held else max(held, default=None)


def measured(sweep, alpha, resolution):
    row = sweep.get((alpha, resolution))
    if row is None:
        return "not in the sweep | – | –"
    return (f"{alpha:g} MobileNet-{resolution} | {100 * float(row['int8_top1']):.1f} | "
            f"{float(row['latency_median_ms']):.3f}")


def differs(ours_mult_adds, ours_params, paper_mult_adds, paper_params, name, mismatches):
    """Notes in `mismatches` where ours, rounded as the paper rounds, is not the paper's figure."""
    if round(ours_mult_adds / 1e6) != paper_mult_adds:
        mismatches.append(f"{name}: {ours_mult_adds / 1e6:.1f} M mult-adds, the paper {paper_mult_adds} M")
    if round(ours_params / 1e6, 1) != paper_params:
        mismatches.append(f"{name}: {ours_params / 1e6:.2f} M parameters, the paper {paper_params} M")


def table_2():
    ours = cost().by_type
    lines = ["## Table 2: resources per layer type (1.0 MobileNet-224)", "",
             "| Type | Mult-adds, paper | Mult-adds, ours | Parameters, paper | Parameters, ours |",
             "|---|---|---|---|---|"]
    for layer_type, (paper_mult_adds, paper_params) in PAPER_TABLE_2.items():
        mult_adds, params = ours[layer_type]
        lines.append(f"| {layer_type} | {paper_mult_adds:.2f}% | {mult_adds:.2f}% | {paper_params:.2f}% | {params:.2f}% |")
    lines += ["", "The paper's 1.19 % for Conv 3x3 is 1.91 % with two digits swapped: its four rows add up to "
              "99.29 %, and to 100 % with 1.91."]
    return lines


def table_4_and_5(mismatches):
    lines = ["## Table 4: depthwise separable against full convolutions; Table 5: narrow against shallow", "",
             "| Model | ImageNet top-1, paper | Mult-adds (M), paper | ours | Parameters (M), paper | ours |",
             "|---|---|---|---|---|---|"]
    for key, (name, top1, paper_mult_adds, paper_params) in {**PAPER_TABLE_4, **PAPER_TABLE_5}.items():
        ours = cost(alpha=key) if isinstance(key, float) else cost(variant=key)
        differs(ours.mult_adds, ours.paper_params, paper_mult_adds, paper_params, name, mismatches)
        lines.append(f"| {name} | {top1}% | {paper_mult_adds} | {ours.mult_adds / 1e6:.1f} | "
                     f"{paper_params} | {ours.paper_params / 1e6:.2f} |")
    lines += ["", "Shallow MobileNet (`variant=\"shallow\"`) drops the five 14x14x512 separable blocks; "
              "Conv MobileNet (`variant=\"full_conv\"`) makes every block a full 3x3 convolution. "
              "Neither is trained here."]
    return lines


def table_6_and_7(sweep, mismatches):
    header = ("| Model | ImageNet top-1, paper | Mult-adds (M), paper | ours | Parameters (M), paper | ours "
              "| Trained here | Imagenette int8 top-1 (%) | int8 latency (ms) |")
    rule = "|---|---|---|---|---|---|---|---|---|"
    # The sweep's own axis may be held at another value than the paper's (the paper grid's is
    # cheaper): each paper row sits beside the trained model with its α (or its ρ).
    resolution_held = held_at(sweep, PAPER_TABLE_6, 0, 224)
    alpha_held = held_at(sweep, PAPER_TABLE_7, 1, 1.0)
    lines = ["## Table 6: width multiplier α (ρ 224)", "", header, rule]
    for alpha, (top1, paper_mult_adds, paper_params) in PAPER_TABLE_6.items():
        lines.append(_paper_row(alpha, 224, top1, paper_mult_adds, paper_params, mismatches)
                     + measured(sweep, alpha, resolution_held) + " |")
    lines += ["", "## Table 7: resolution ρ (α 1.0)", "", header, rule]
    for resolution, (top1, paper_mult_adds, paper_params) in PAPER_TABLE_7.items():
        lines.append(_paper_row(1.0, resolution, top1, paper_mult_adds, paper_params, mismatches)
                     + measured(sweep, alpha_held, resolution) + " |")
    return lines


def _paper_row(alpha, resolution, top1, paper_mult_adds, paper_params, mismatches):
    name = f"{alpha:g} MobileNet-{resolution}"
    ours = cost(alpha, resolution)
    differs(ours.mult_adds, ours.paper_params, paper_mult_adds, paper_params, name, mismatches)
    return (f"| {name} | {top1}% | {paper_mult_adds} | {ours.mult_adds / 1e6:.1f} | {paper_params} | "
            f"{ours.paper_params / 1e6:.2f} | ")


def run(sweep_directory):
    sweep = read_sweep(sweep_directory)
    mismatches = []
    epochs = sorted({int(row["epochs"]) for row in sweep.values()})
    schedule = " or ".join(map(str, epochs)) + " epochs a model" if epochs else "the schedule"
    tables = table_2() + [""] + table_4_and_5(mismatches) + [""] + table_6_and_7(sweep, mismatches)
    exact = ("Rounded as the paper rounds (whole millions of mult-adds, tenths of millions of "
             "parameters), every row is the paper's figure" + (", except: " + "; ".join(mismatches) + "."
                                                               if mismatches else "."))
    lines = [
        "# The paper's tables, reproduced",
        "",
        f"Made by `make sweep` (its last step: `python -m benchmarks.paper_tables --sweep {sweep_directory}`).",
        "",
        "**Exact:** mult-adds and parameters, computed from the Keras models this project trains "
        "(`mobilenet.model.complexity`; 1000 classes; the paper counts convolution and classifier kernels). " + exact,
        "",
        "**Analogue:** the paper's accuracy is ImageNet top-1 after full training. In its place stand the "
        "int8 `.tflite` top-1 on Imagenette (10 ImageNet classes, `imagenette/160px-v2`, whole validation "
        f"split) after {schedule} of the sweep's recipe (configs/sweep.py), and the int8 latency at batch 1 on "
        f"this machine ({common.machine()}). The ranking is the point, not the values. \"Trained here\" is the "
        "model of the sweep with the row's α (Table 6) or ρ (Table 7); the sweep may hold the other axis at "
        "another value than the paper (its paper grid holds ρ 128 and α 0.5, so that it trains on 2 CPU cores, "
        "and takes ρ only up to the data's own resolution, which the sweep's table gives: a side of Table 7 above "
        "it is not trained).",
        "",
    ]
    lines += tables
    if sweep:
        for name in SWEEP_FILES:
            shutil.copyfile(os.path.join(sweep_directory, name), os.path.join(common.DOCS, name))
        lines += ["", "## The whole sweep", "",
                  "Every model of the grid, from `make sweep` (`python -m mobilenet sweep`), 10 classes:", "",
                  open(os.path.join(common.DOCS, "sweep.md")).read().strip(), "",
                  "![int8 top-1 against latency](accuracy_vs_latency.png)", "",
                  "![int8 top-1 against mult-adds](accuracy_vs_multadds.png)"]
    else:
        lines += ["", f"No sweep in {sweep_directory}: run `make sweep` for the measured columns."]
    path = os.path.join(common.DOCS, "PAPER_TABLES.md")
    files.write_atomically(path, "\n".join(lines) + "\n")
    print(f"wrote {path}")


def main(argv):
    del argv
    run(flags.FLAGS.sweep)


if __name__ == "__main__":
    flags.DEFINE_string("sweep", os.path.join("runs", "sweep"), "The output directory of python -m mobilenet sweep.")
    app.run(main)
