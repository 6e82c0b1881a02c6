"""Choose the right-sized model: MobileNet V1's accuracy against its latency over α × ρ.

`run_sweep(config, alphas, resolutions, out)` is the library call; `python -m
mobilenet.sweep` its command line. Two sources of accuracy:

* "trained" (the default): for each α × ρ, cheapest first, it trains with the config
  (mobilenet/configs/sweep.py by default; a finished run in OUT/runs/ is reused, an
  interrupted one resumes), exports int8, evaluates the `.tflite` and the Keras model on
  the eval split. A model whose validation top-1 still rose by more than
  CONVERGENCE_GAIN over the last CONVERGENCE_WINDOW of its epochs is marked not
  converged: a short equal-epoch budget ranks models by how fast they learn (big ones
  learn slower at first), not by what they can reach.
* "published": each α × ρ's ImageNet top-1 from TF-Slim's table (PUBLISHED_TOP1), with
  no training: a hardware-aware Pareto front in minutes, for a user who will fine-tune
  from ImageNet weights or wants an ImageNet classifier.

Either way it times the int8 `.tflite` files at batch 1 all together, interleaved in one
fresh process, so that a change in the machine's load slows every model alike (the
published mode converts each architecture with random weights and calibration: weights do
not change the time; a trained model is also timed alone as it finishes, for the tables
written on the way), and writes into OUT:

  sweep.csv, sweep.md         one row per model: costs, size, accuracy, latency, convergence;
                              the count of inversions along the paper's axes
  accuracy_vs_latency.png     accuracy against latency and against mult-adds (log x, as
  accuracy_vs_multadds.png    the paper's Figures 4 and 5), with the Pareto front
  selected.tflite, labels.txt with latency_budget_ms (trained): the most accurate model within it

The "paper" grid is the paper's own design: α varied at one ρ (its Table 6) and ρ at one
α (Table 7), 7 models instead of 16. Latency is measured again on every run (it is
quick, and the machine may have been busy the last time); everything else is reused.
Rerun the same call to resume.
"""

import csv
import datetime
import io
import itertools
import json
import os
import shutil
import time

import matplotlib
from matplotlib.figure import Figure  # not pyplot: no process-wide backend or figure list

import numpy as np
from matplotlib import ticker

from mobilenet import conversion, files, latency, litert, machine, model_costs, names, release, training
from mobilenet import model as model_lib
from mobilenet.errors import ParameterError

COLUMNS = (
    "alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb",
    "float_top1", "int8_top1", "latency_median_ms", "latency_p90_ms", "epochs", "last_gain", "converged",
)
PUBLISHED_COLUMNS = ("alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb", "published_top1",
                     "latency_median_ms", "latency_p90_ms")
GRIDS = ("full", "paper")
ACCURACY_SOURCES = ("trained", "published")
# The paper grid's fixed axes, small enough that its 7 models train on 2 CPU cores: α
# varies at ρ PAPER_RESOLUTION, ρ at α PAPER_ALPHA.
PAPER_ALPHA, PAPER_RESOLUTION = 0.5, 128
# Not converged: validation top-1 rose by more than this over the last fraction of epochs.
CONVERGENCE_GAIN, CONVERGENCE_WINDOW = 0.01, 0.2
# ImageNet top-1 (%, single central crop) of the float MobileNet V1 checkpoints, from the
# table of tensorflow/models research/slim/nets/mobilenet_v1.md (the 2018 release of the
# 2017 checkpoints that keras.applications' ImageNet weights were converted from).
PUBLISHED_TOP1 = {
    (1.0, 224): 70.9, (1.0, 192): 70.0, (1.0, 160): 68.0, (1.0, 128): 65.2,
    (0.75, 224): 68.4, (0.75, 192): 67.2, (0.75, 160): 65.3, (0.75, 128): 62.1,
    (0.5, 224): 63.3, (0.5, 192): 61.7, (0.5, 160): 59.1, (0.5, 128): 56.3,
    (0.25, 224): 49.8, (0.25, 192): 47.7, (0.25, 160): 45.5, (0.25, 128): 41.5,
}


def run_sweep(config, alphas, resolutions, out, threads=1, latency_budget_ms=None, grid="full",
              accuracy_source="trained"):
    """Measures every model of the grid; returns the rows (dicts of COLUMNS, or of
    PUBLISHED_COLUMNS for published accuracy).

    `config` is the training config of every model (its alpha and resolution are set per
    model; unused for published accuracy). `grid` is "full" (every α × ρ) or "paper" (α
    at ρ PAPER_RESOLUTION, ρ at α PAPER_ALPHA). With `latency_budget_ms`, the most
    accurate model whose median latency fits is named (and, trained, copied to
    OUT/selected.tflite); a ParameterError says so when none does (the tables are
    written first).
    """
    points = grid_points(grid, alphas, resolutions)
    if accuracy_source not in ACCURACY_SOURCES:
        raise ParameterError(f"{{accuracy_source}} must be trained or published, got {accuracy_source!r}")
    published = accuracy_source == "published"
    missing = [point for point in points if published and point not in PUBLISHED_TOP1]
    if missing:
        raise ParameterError(f"{{accuracy_source}} published: no published ImageNet top-1 for alpha {missing[0][0]:g}, "
                             f"resolution {missing[0][1]} (TF-Slim published alpha 0.25-1.0 at 128, 160, 192, 224)")
    litert.check_threads((threads,))
    if latency_budget_ms is not None and latency_budget_ms <= 0:
        raise ParameterError(f"{{latency_budget_ms}} must be > 0, got {latency_budget_ms:g}")
    os.makedirs(out, exist_ok=True)

    start = time.monotonic()
    if published:
        rows = published_rows(points, threads)
    else:
        rows, contents = [], {}
        for index, (alpha, resolution) in enumerate(points, 1):
            minutes = (time.monotonic() - start) / 60
            print(f"[sweep {index}/{len(points)}] alpha {alpha:g}, resolution {resolution}: "
                  f"{len(points) - index} more after it, {minutes:.1f} min so far", flush=True)
            row, contents[(alpha, resolution)] = _measure_one(config, alpha, resolution, out, threads)
            rows.append(row)
            _write_results(rows, out, threads)
        _time_together(rows, contents, threads)
    print(f"[sweep] {len(points)} models in {(time.monotonic() - start) / 60:.1f} min; results in {out}")
    selected = None
    if latency_budget_ms is not None:
        selected = select(rows, latency_budget_ms, accuracy_key(rows))
    _write_results(rows, out, threads, latency_budget_ms, selected)
    if latency_budget_ms is not None:
        if selected is None:
            fastest = min(row["latency_median_ms"] for row in rows)
            raise ParameterError(
                f"{{latency_budget_ms}} {latency_budget_ms:g}: no model fits; the fastest takes {fastest:.3f} ms"
            )
        print(f"[sweep] {budget_sentence(selected, latency_budget_ms, rows)}")
        if not published:
            workdir = _workdir(out, selected["alpha"], selected["resolution"])
            for source, target in (("int8.tflite", "selected.tflite"), ("labels.txt", "labels.txt")):
                with files.atomic_output(os.path.join(out, target)) as temporary:
                    shutil.copyfile(os.path.join(workdir, source), temporary)
    return rows


def grid_points(grid, alphas, resolutions):
    """The (α, ρ) of a grid, cheapest first (mult-adds grow as α² ρ²): early results come early."""
    if grid not in GRIDS:
        raise ParameterError(f"{{grid}} must be full or paper, got {grid!r}")
    if not alphas or not resolutions:
        raise ParameterError("{alphas} and {resolutions} need at least one value each")
    for alpha, resolution in itertools.product(alphas, resolutions):
        try:
            model_lib.validate_arguments(alpha, resolution)
        except ParameterError as error:  # the grid's parameters are plural
            raise ParameterError(error.template.replace("{alpha}", "{alphas}").replace("{resolution}", "{resolutions}"))
    if grid == "full":
        points = set(itertools.product(alphas, resolutions))
    else:
        points = {(alpha, PAPER_RESOLUTION) for alpha in alphas} | {(PAPER_ALPHA, side) for side in resolutions}
    return sorted(points, key=lambda point: (point[0] ** 2 * point[1] ** 2, point))


def accuracy_key(rows):
    return "published_top1" if rows and "published_top1" in rows[0] else "int8_top1"


def select(rows, latency_budget_ms, accuracy="int8_top1"):
    """The most accurate row whose median latency is within the budget (None if none is)."""
    within = [row for row in rows if row["latency_median_ms"] <= latency_budget_ms]
    return max(within, key=lambda row: (row[accuracy], -row["latency_median_ms"]), default=None)


def budget_sentence(selected, latency_budget_ms, rows):
    accuracy = accuracy_key(rows)
    sentence = (f"within {latency_budget_ms:g} ms: alpha {selected['alpha']:g}, resolution {selected['resolution']}, "
                f"{accuracy.replace('_', ' ')} {selected[accuracy]:.4f}, {selected['latency_median_ms']:.3f} ms")
    unconverged = [row for row in rows if row.get("converged") is False and row["latency_median_ms"] <= latency_budget_ms]
    if unconverged:
        sentence += (f"; {len(unconverged)} of the models within the budget had not converged, so this pick may "
                     "change with more epochs")
    return sentence


def pareto_front(rows, x_key, accuracy="int8_top1"):
    """The rows no other row beats on both `x_key` (lower) and accuracy (higher), by x."""
    front = []
    for row in sorted(rows, key=lambda row: (row[x_key], -row[accuracy])):
        if not front or row[accuracy] > front[-1][accuracy]:
            front.append(row)
    return front


def convergence(curve):
    """(the gain of validation top-1 over the last CONVERGENCE_WINDOW of the epochs, whether
    that gain is at most CONVERGENCE_GAIN). Fewer than two epochs: (nan, False)."""
    window = max(1, int(np.ceil(CONVERGENCE_WINDOW * len(curve))))
    if len(curve) <= window:
        return float("nan"), False
    gain = float(curve[-1] - curve[-1 - window])
    return gain, gain <= CONVERGENCE_GAIN


def inversions(rows, accuracy="int8_top1"):
    """[(smaller row, larger row)] of neighbours along the paper's axes (ρ at one α, α at
    one ρ) where the larger model scores lower."""
    found = []
    for axis, other in (("resolution", "alpha"), ("alpha", "resolution")):
        for value in sorted({row[other] for row in rows}):
            line = sorted((row for row in rows if row[other] == value), key=lambda row: row[axis])
            found += [(small, large) for small, large in zip(line, line[1:]) if large[accuracy] < small[accuracy]]
    return found


def neighbour_pairs(rows):
    return sum(len({row[axis] for row in rows if row[other] == value}) - 1
               for axis, other in (("resolution", "alpha"), ("alpha", "resolution"))
               for value in {row[other] for row in rows})


def published_rows(points, threads):
    """Rows of published ImageNet top-1 and this machine's int8 latency of each architecture."""
    contents, rows = {}, []
    for alpha, resolution in points:
        model = model_lib.mobilenet_v1(alpha, resolution, num_classes=1000)
        contents[(alpha, resolution)] = conversion.convert(model, "int8", conversion.random_calibration_images(resolution))
        cost = model_costs.model_cost(model)
        rows.append({"alpha": alpha, "resolution": resolution, "mult_adds_m": cost.mult_adds / 1e6,
                     "params_m": cost.params / 1e6, "int8_size_mb": len(contents[(alpha, resolution)]) / 1e6,
                     "published_top1": PUBLISHED_TOP1[(alpha, resolution)] / 100})
        print(f"[sweep] converted alpha {alpha:g}, resolution {resolution} (random weights)", flush=True)
    _time_together(rows, contents, threads)
    return rows


def _workdir(out, alpha, resolution):
    return os.path.join(out, "runs", names.model_name(alpha, resolution))


def _report_path(workdir):
    return os.path.join(workdir, "int8.report.json")


def _time_together(rows, contents, threads):
    """Sets each row's latency from its int8 file in `contents` ({(α, ρ): bytes}), all timed
    interleaved in one fresh process (latency.compare), so that the machine's load, which
    changes from one model's timing to the next, slows them alike."""
    print(f"[sweep] timing the {len(rows)} int8 files together", flush=True)
    timings = latency.compare_in_fresh_process(contents, (threads,))
    for row in rows:
        stats = timings[(row["alpha"], row["resolution"])][threads]
        row.update(latency_median_ms=stats["median_ms"], latency_p90_ms=stats["p90_ms"])


def _measure_one(config, alpha, resolution, out, threads):
    """(the model's row, its int8 file's bytes): trained (or resumed), exported, evaluated and timed alone."""
    workdir = _workdir(out, alpha, resolution)
    model_config = config.copy_and_resolve_references()
    model_config.alpha, model_config.resolution = alpha, resolution
    # Also for a finished run: it checks the run is this config, and continues it if
    # --epochs grew. A run already at its last epoch returns at once.
    run = training.train(model_config, workdir)

    report_path = _report_path(workdir)
    best = os.path.join(workdir, "best.keras")
    if os.path.exists(report_path) and os.path.getmtime(report_path) > os.path.getmtime(best):
        with open(report_path) as file:
            report = json.load(file)
    else:
        report = release.export(workdir, output=os.path.join(workdir, "int8.tflite"), threads=(), card=False).report
    with open(os.path.join(workdir, report["tflite"]), "rb") as file:
        content = file.read()
    timing = latency.compare_in_fresh_process({"": content}, (threads,))[""][threads]
    gain, converged = convergence([row["val_top1"] for row in run.history])
    row = {
        "alpha": alpha,
        "resolution": resolution,
        "mult_adds_m": report["mult_adds"] / 1e6,
        "params_m": report["params"] / 1e6,
        "int8_size_mb": report["size_bytes"] / 1e6,
        "float_top1": report["keras_top1"],
        "int8_top1": report["tflite_top1"],
        "latency_median_ms": timing["median_ms"],
        "latency_p90_ms": timing["p90_ms"],
        "epochs": len(run.history),
        "last_gain": gain,
        "converged": converged,
    }
    return row, content


def _write_results(rows, out, threads, latency_budget_ms=None, selected=None):
    text = io.StringIO()
    writer = csv.DictWriter(text, PUBLISHED_COLUMNS if accuracy_key(rows) == "published_top1" else COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    files.write_atomically(os.path.join(out, "sweep.csv"), text.getvalue())
    files.write_atomically(os.path.join(out, "sweep.md"), format_markdown(rows, threads, latency_budget_ms, selected))
    plot(rows, "latency_median_ms", f"int8 latency, batch 1, {threads} thread(s), median (ms)",
         os.path.join(out, "accuracy_vs_latency.png"), latency_budget_ms)
    plot(rows, "mult_adds_m", "Mult-adds (millions)", os.path.join(out, "accuracy_vs_multadds.png"))


def format_markdown(rows, threads, latency_budget_ms=None, selected=None):
    accuracy = accuracy_key(rows)
    published = accuracy == "published_top1"
    front = pareto_front(rows, "latency_median_ms", accuracy)
    header = ("Published ImageNet top-1 (float)" if published else "Float top-1 | int8 top-1")
    lines = [
        f"| α | ρ | Mult-adds (M) | Params (M) | int8 size (MB) | {header} | "
        f"int8 latency, {threads} thread(s), median (p90) ms |" + ("" if published else " Epochs | Last gain |"),
        "|---|---|---|---|---|---|---|" + ("" if published else "---|---|---|"),
    ]
    for row in sorted(rows, key=lambda row: (row["alpha"], row["resolution"])):
        mark = " *" if row in front else ""
        accuracies = (f"{row[accuracy]:.3f}{mark}" if published else
                      f"{row['float_top1']:.4f} | {row['int8_top1']:.4f}{mark}{'' if row['converged'] else ' †'}")
        lines.append(
            f"| {row['alpha']:g} | {row['resolution']} | {row['mult_adds_m']:.1f} | {row['params_m']:.2f} | "
            f"{row['int8_size_mb']:.2f} | {accuracies} | {row['latency_median_ms']:.3f} ({row['latency_p90_ms']:.3f}) |"
            + ("" if published else f" {row['epochs']} | {100 * row['last_gain']:+.1f} |")
        )
    lines += ["", "\\* on the accuracy-versus-latency Pareto front: no other model is both faster and more accurate."]
    if not published:
        lines += [f"† not converged: validation top-1 still rose by more than {100 * CONVERGENCE_GAIN:g} point over "
                  f"the last {100 * CONVERGENCE_WINDOW:g} % of its epochs (\"Last gain\", in points), so its rank "
                  "reflects how fast it learns, not what it can reach."]
    found = inversions(rows, accuracy)
    lines += ["", f"Inversions along the paper's axes (a larger α at the same ρ, or a larger ρ at the same α, "
                  f"scoring lower): **{len(found)} of {neighbour_pairs(rows)}** neighbouring pairs"
              + ("." if not found else ": " + "; ".join(
                  f"α {large['alpha']:g} ρ {large['resolution']} ({large[accuracy]:.4f}) below α {small['alpha']:g} "
                  f"ρ {small['resolution']} ({small[accuracy]:.4f})" for small, large in found) + ".")]
    lines += ["", f"Latency measured on {datetime.date.today()} on {machine.describe()}."]
    if selected is not None:
        sentence = budget_sentence(selected, latency_budget_ms, rows)
        lines += ["", sentence[0].upper() + sentence[1:]
                  + ("" if published else "; copied as selected.tflite") + "."]
    return "\n".join(lines) + "\n"


MARKERS = "osD^vP*X"


def plot(rows, x_key, x_label, path, latency_budget_ms=None):
    """Accuracy against `x_key` on a log axis in plain numbers: one colour per α, one marker
    per ρ, each point labelled, hollow where not converged, the Pareto front and the budget drawn."""
    accuracy = accuracy_key(rows)
    figure = Figure(figsize=(8, 5.5))
    axes = figure.subplots()
    alphas = sorted({row["alpha"] for row in rows})
    markers = dict(zip(sorted({row["resolution"] for row in rows}), MARKERS))
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.8, len(alphas)))  # no pale yellow on white
    labels = []  # (x, y, text, whether above the point keeps it off its α's line)
    for alpha, color in zip(alphas, colors):
        points = sorted((row for row in rows if row["alpha"] == alpha), key=lambda row: row[x_key])
        axes.plot([row[x_key] for row in points], [100 * row[accuracy] for row in points], ":", color=color,
                  label=f"α {alpha:g}")
        for index, row in enumerate(points):
            hollow = row.get("converged") is False
            axes.plot(row[x_key], 100 * row[accuracy], markers[row["resolution"]], color=color, markersize=7,
                      markerfacecolor="white" if hollow else color)
            # Where its α's line rises to the right, a label there goes below the point.
            above = index + 1 == len(points) or points[index + 1][accuracy] < row[accuracy]
            labels.append((row[x_key], 100 * row[accuracy], f"{row['alpha']:g}-{row['resolution']}", above))
    for resolution, marker in markers.items():
        axes.plot([], [], marker, color="gray", label=f"ρ {resolution}")
    if any(row.get("converged") is False for row in rows):
        axes.plot([], [], "o", color="gray", markerfacecolor="white", label="not converged")
    front = pareto_front(rows, x_key, accuracy)
    axes.step([row[x_key] for row in front], [100 * row[accuracy] for row in front], "r-", where="post", alpha=0.5,
              label="Pareto front")
    if latency_budget_ms is not None:
        axes.axvline(latency_budget_ms, color="black", linestyle="--", linewidth=1,
                     label=f"budget {latency_budget_ms:g} ms")
    axes.set_xscale("log")
    for axis_formatter in (axes.xaxis.set_major_formatter, axes.xaxis.set_minor_formatter):
        axis_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))  # 0.3, not 3×10⁻¹
    axes.set_xlabel(x_label)
    axes.set_ylabel("published ImageNet top-1 (%)" if accuracy == "published_top1" else "int8 top-1 (%)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    place_labels(figure, axes, labels)
    with files.atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=120)


def place_labels(figure, axes, labels, size=7):
    """Annotates each (x, y, text, above) at the first of four places beside its point (right
    above or below, its `above` side first, then left) where it overlaps no label placed before
    it and no point; the first place when none is free."""
    axes.autoscale_view()  # the data limits are final: pixels can be computed
    pixels_per_point = figure.dpi / 72
    points = axes.transData.transform([(x, y) for x, y, _, _ in labels])
    taken = []
    for (x, y, text, above), (point_x, point_y) in zip(labels, points):
        width, height = 0.6 * size * len(text), size  # in points, for a sans-serif font
        offsets = [(5, 6), (5, -12)] if above else [(5, -12), (5, 6)]
        offsets += [(-5 - width, 6), (-5 - width, -12)]
        boxes = [(point_x + dx * pixels_per_point, point_y + dy * pixels_per_point,
                  point_x + (dx + width) * pixels_per_point, point_y + (dy + height) * pixels_per_point)
                 for dx, dy in offsets]
        margin = size / 2 * pixels_per_point  # a marker's radius

        def free(box):
            return (all(box[2] <= other[0] or other[2] <= box[0] or box[3] <= other[1] or other[3] <= box[1]
                        for other in taken)
                    and not any(box[0] - margin < px < box[2] + margin and box[1] - margin < py < box[3] + margin
                                for px, py in points))

        choice = next((index for index, box in enumerate(boxes) if free(box)), 0)
        taken.append(boxes[choice])
        axes.annotate(text, (x, y), textcoords="offset points", xytext=offsets[choice], fontsize=size)
