"""Choose the right-sized model: train, export and measure MobileNet V1 over α × ρ.

`run_sweep(config, alphas, resolutions, out)` is the library call; `python -m
mobilenet.sweep` its command line. For each α × ρ, cheapest first, it trains with the
config (mobilenet/configs/sweep.py by default; a finished run in OUT/runs/ is reused, an
interrupted one resumes), exports int8, evaluates the `.tflite` and the Keras model on
the eval split, and times the `.tflite` at batch 1 in a fresh process. Then it writes into OUT:

  sweep.csv, sweep.md         one row per model: costs, size, float and int8 top-1, latency
  accuracy_vs_latency.png     int8 top-1 against latency and against mult-adds (log x, as
  accuracy_vs_multadds.png    the paper's Figures 4 and 5), with the Pareto front
  selected.tflite, labels.txt with latency_budget_ms: the most accurate model within it

Latency is measured again on every run (it is quick, and the machine may have been busy
the last time); everything else is reused. Rerun the same call to resume.
"""

import csv
import io
import itertools
import json
import os
import shutil
import time

import matplotlib
from matplotlib.figure import Figure  # not pyplot: no process-wide backend or figure list

from mobilenet import files, latency, litert, names, release, training
from mobilenet import model as model_lib
from mobilenet.errors import ParameterError

COLUMNS = (
    "alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb",
    "float_top1", "int8_top1", "latency_median_ms", "latency_p90_ms",
)


def run_sweep(config, alphas, resolutions, out, threads=1, latency_budget_ms=None):
    """Trains, exports and measures every α × ρ; returns the rows (dicts of COLUMNS).

    `config` is the training config of every model (its alpha and resolution are set
    per model). With `latency_budget_ms`, OUT/selected.tflite is the most accurate model
    whose median latency fits; a ValueError says so when none does (the tables are
    written first).
    """
    if not alphas or not resolutions:
        raise ParameterError("{alphas} and {resolutions} need at least one value each")
    for alpha, resolution in itertools.product(alphas, resolutions):
        try:
            model_lib.validate_arguments(alpha, resolution)
        except ParameterError as error:  # the grid's parameters are plural
            raise ParameterError(error.template.replace("{alpha}", "{alphas}").replace("{resolution}", "{resolutions}"))
    litert.check_threads((threads,))
    if latency_budget_ms is not None and latency_budget_ms <= 0:
        raise ParameterError(f"{{latency_budget_ms}} must be > 0, got {latency_budget_ms:g}")
    os.makedirs(out, exist_ok=True)

    # Cheapest first (mult-adds grow as α² ρ²): early results come early.
    grid = sorted(itertools.product(alphas, resolutions), key=lambda point: point[0] ** 2 * point[1] ** 2)
    start = time.monotonic()
    rows = []
    for index, (alpha, resolution) in enumerate(grid, 1):
        minutes = (time.monotonic() - start) / 60
        print(f"[sweep {index}/{len(grid)}] alpha {alpha:g}, resolution {resolution}: "
              f"{len(grid) - index} more after it, {minutes:.1f} min so far", flush=True)
        rows.append(_measure_one(config, alpha, resolution, out, threads))
        _write_results(rows, out, threads)
    print(f"[sweep] {len(grid)} models in {(time.monotonic() - start) / 60:.1f} min; results in {out}")

    if latency_budget_ms is not None:
        selected = select(rows, latency_budget_ms)
        if selected is None:
            fastest = min(row["latency_median_ms"] for row in rows)
            raise ParameterError(
                f"{{latency_budget_ms}} {latency_budget_ms:g}: no model fits; the fastest takes {fastest:.3f} ms"
            )
        workdir = _workdir(out, selected["alpha"], selected["resolution"])
        for source, target in (("int8.tflite", "selected.tflite"), ("labels.txt", "labels.txt")):
            with files.atomic_output(os.path.join(out, target)) as temporary:
                shutil.copyfile(os.path.join(workdir, source), temporary)
        _write_results(rows, out, threads, latency_budget_ms, selected)
        print(f"[sweep] within {latency_budget_ms:g} ms: alpha {selected['alpha']:g}, resolution "
              f"{selected['resolution']}, int8 top-1 {selected['int8_top1']:.4f}, "
              f"{selected['latency_median_ms']:.3f} ms -> {os.path.join(out, 'selected.tflite')}")
    return rows


def select(rows, latency_budget_ms):
    """The most accurate row whose median latency is within the budget (None if none is)."""
    within = [row for row in rows if row["latency_median_ms"] <= latency_budget_ms]
    return max(within, key=lambda row: (row["int8_top1"], -row["latency_median_ms"]), default=None)


def pareto_front(rows, x_key):
    """The rows no other row beats on both `x_key` (lower) and int8 top-1 (higher), by x."""
    front = []
    for row in sorted(rows, key=lambda row: (row[x_key], -row["int8_top1"])):
        if not front or row["int8_top1"] > front[-1]["int8_top1"]:
            front.append(row)
    return front


def _workdir(out, alpha, resolution):
    return os.path.join(out, "runs", names.model_name(alpha, resolution))


def _report_path(workdir):
    return os.path.join(workdir, "int8.report.json")


def _measure_one(config, alpha, resolution, out, threads):
    workdir = _workdir(out, alpha, resolution)
    model_config = config.copy_and_resolve_references()
    model_config.alpha, model_config.resolution = alpha, resolution
    # Also for a finished run: it checks the run is this config, and continues it if
    # --epochs grew. A run already at its last epoch returns at once.
    training.train(model_config, workdir)

    report_path = _report_path(workdir)
    best = os.path.join(workdir, "best.keras")
    if os.path.exists(report_path) and os.path.getmtime(report_path) > os.path.getmtime(best):
        with open(report_path) as file:
            report = json.load(file)
    else:
        report = release.export(workdir, output=os.path.join(workdir, "int8.tflite"), threads=()).report
    with open(os.path.join(workdir, report["tflite"]), "rb") as file:
        content = file.read()
    timing = latency.compare_in_fresh_process({"": content}, (threads,))[""][threads]
    return {
        "alpha": alpha,
        "resolution": resolution,
        "mult_adds_m": report["mult_adds"] / 1e6,
        "params_m": report["params"] / 1e6,
        "int8_size_mb": report["size_bytes"] / 1e6,
        "float_top1": report["keras_top1"],
        "int8_top1": report["tflite_top1"],
        "latency_median_ms": timing["median_ms"],
        "latency_p90_ms": timing["p90_ms"],
    }


def _write_results(rows, out, threads, latency_budget_ms=None, selected=None):
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    files.write_atomically(os.path.join(out, "sweep.csv"), text.getvalue())
    files.write_atomically(os.path.join(out, "sweep.md"), format_markdown(rows, threads, latency_budget_ms, selected))
    plot(rows, "latency_median_ms", f"int8 latency, batch 1, {threads} thread(s), median (ms)",
         os.path.join(out, "accuracy_vs_latency.png"))
    plot(rows, "mult_adds_m", "Mult-adds (millions)", os.path.join(out, "accuracy_vs_multadds.png"))


def format_markdown(rows, threads, latency_budget_ms=None, selected=None):
    front = pareto_front(rows, "latency_median_ms")
    lines = [
        f"| α | ρ | Mult-adds (M) | Params (M) | int8 size (MB) | Float top-1 | int8 top-1 | "
        f"int8 latency, {threads} thread(s), median (p90) ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda row: (row["alpha"], row["resolution"])):
        mark = " *" if row in front else ""
        lines.append(
            f"| {row['alpha']:g} | {row['resolution']} | {row['mult_adds_m']:.1f} | {row['params_m']:.2f} | "
            f"{row['int8_size_mb']:.2f} | {row['float_top1']:.4f} | {row['int8_top1']:.4f}{mark} | "
            f"{row['latency_median_ms']:.3f} ({row['latency_p90_ms']:.3f}) |"
        )
    lines += ["", "\\* on the accuracy-versus-latency Pareto front: no other model is both faster and more accurate."]
    if selected is not None:
        lines += ["", f"Within {latency_budget_ms:g} ms: **α {selected['alpha']:g}, ρ {selected['resolution']}** "
                      f"(int8 top-1 {selected['int8_top1']:.4f}, {selected['latency_median_ms']:.3f} ms), "
                      "copied as selected.tflite."]
    return "\n".join(lines) + "\n"


def plot(rows, x_key, x_label, path):
    """int8 top-1 against `x_key` on a log axis, each model labelled, the Pareto front drawn."""
    figure = Figure(figsize=(7, 5))
    axes = figure.subplots()
    alphas = sorted({row["alpha"] for row in rows})
    for alpha, color in zip(alphas, matplotlib.colormaps["viridis"]([i / max(len(alphas) - 1, 1) for i in range(len(alphas))])):
        points = sorted((row for row in rows if row["alpha"] == alpha), key=lambda row: row[x_key])
        axes.plot([row[x_key] for row in points], [100 * row["int8_top1"] for row in points],
                  "o:", color=color, label=f"α {alpha:g}")
        for row in points:
            axes.annotate(f"{row['alpha']:g}-{row['resolution']}", (row[x_key], 100 * row["int8_top1"]),
                          textcoords="offset points", xytext=(4, 4), fontsize=7)
    front = pareto_front(rows, x_key)
    axes.step([row[x_key] for row in front], [100 * row["int8_top1"] for row in front], "r-",
              where="post", alpha=0.5, label="Pareto front")
    axes.set_xscale("log")
    axes.set_xlabel(x_label)
    axes.set_ylabel("int8 top-1 (%)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with files.atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=120)

