"""Choose the right-sized model: MobileNet V1's accuracy against its latency over α × ρ.

`run_sweep(config, alphas, resolutions, out)` is the library call; `python -m mobilenet
sweep` its command line. Two sources of accuracy (mobilenet.selection.trained and .published):

* "trained" (the default): for each α × ρ, cheapest first, it trains with the config
  (mobilenet/configs/sweep.py by default; a finished run in OUT/runs/ is reused, an
  interrupted one resumes), exports int8, evaluates the `.tflite` and the Keras model on
  the eval split. It first measures the data's own resolution (the median short side of its
  training images) and marks each ρ above it as upsampled: more computation, no more pixels.
  A short equal-epoch budget ranks models by how fast they learn (big ones learn slower at
  first), not by what they can reach; with `doubled`, every model also trains from scratch
  for twice the epochs, and the sweep reports whether the ranking and the Pareto front hold.
* "published": each α × ρ's ImageNet top-1 from TF-Slim's table (PUBLISHED_TOP1), with
  no training: a hardware-aware Pareto front in minutes, for a user who will fine-tune
  from ImageNet weights or wants an ImageNet classifier.

Either way it times the int8 `.tflite` files at batch 1 all together, interleaved in one
fresh process, so that a change in the machine's load slows every model alike (the
published mode converts each architecture with random weights and calibration: weights do
not change the time; a trained model is also timed alone as it finishes, for the tables
written on the way), and writes into OUT:

  sweep.csv, sweep.md         one row per model: costs, size, accuracy, latency, whether its
                              images are upsampled; the inversions along the paper's axes; with
                              `doubled`, the comparison of the two budgets
  accuracy_vs_latency.png     accuracy against latency and against mult-adds (log x, as
  accuracy_vs_multadds.png    the paper's Figures 4 and 5), with the Pareto front
  selected.tflite, labels.txt with latency_budget_ms (trained): the most accurate model within it
  epochs_E/                   with `doubled`: each budget's own tables, plots and runs

The "paper" grid is the paper's own design: α varied at one ρ (its Table 6) and ρ at one
α (Table 7), 7 models instead of 16; trained, its ρ values are those at or below the data's
own resolution. Latency is measured again on every run (it is quick, and the machine may
have been busy the last time); everything else is reused. Rerun the same call to resume.
"""

import itertools
import os
import shutil
import time

from mobilenet import figures, files, names
from mobilenet.data import datasets, input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.measure import latency, litert
from mobilenet.model import network
from mobilenet.selection import analysis, published, tables, trained

GRIDS = ("full", "paper")
ACCURACY_SOURCES = ("trained", "published")
# The paper's input sides (its Table 7), the full grid's default; the paper grid takes those
# of RESOLUTIONS at or below the data's own resolution, 96 included for small images.
PAPER_RESOLUTIONS = (128, 160, 192, 224)
RESOLUTIONS = (96, *PAPER_RESOLUTIONS)
# The paper grid's fixed axes, small enough that its models train on 2 CPU cores: α varies at
# ρ PAPER_RESOLUTION (or the largest ρ at or below the data's own, if that is smaller), ρ at α PAPER_ALPHA.
PAPER_ALPHA, PAPER_RESOLUTION = 0.5, 128


def run_sweep(config, alphas, resolutions, out, threads=1, latency_budget_ms=None, grid="full",
              accuracy_source="trained", doubled=False):
    """Measures every model of the grid; returns the rows (dicts of tables.COLUMNS, or of
    tables.PUBLISHED_COLUMNS for published accuracy; with `doubled`, those of the longer budget).

    `config` is the training config of every model (its alpha and resolution are set per
    model; unused for published accuracy). `grid` is "full" (every α × ρ) or "paper" (α
    at ρ PAPER_RESOLUTION, ρ at α PAPER_ALPHA); `resolutions` None takes the grid's own.
    `doubled` trains every model again, from scratch, for twice config.epochs, in
    OUT/epochs_2E/ beside OUT/epochs_E/, and compares the two (trained accuracy only). With
    `latency_budget_ms`, the most accurate model whose median latency fits is named (and,
    trained, copied to OUT/selected.tflite); a ParameterError says so when none does (the
    tables are written first).
    """
    if accuracy_source not in ACCURACY_SOURCES:
        raise ParameterError(f"{{accuracy_source}} must be trained or published, got {accuracy_source!r}")
    from_published = accuracy_source == "published"
    if doubled and from_published:
        raise ParameterError("{doubled} is for trained accuracy: published accuracy has no epochs to double")
    litert.check_threads((threads,))
    if latency_budget_ms is not None and latency_budget_ms <= 0:
        raise ParameterError(f"{{latency_budget_ms}} must be > 0, got {latency_budget_ms:g}")
    points = grid_points(grid, alphas, resolutions)  # the grid's own checks, before any data is read

    start = time.monotonic()
    if from_published:
        missing = [point for point in points if point not in published.PUBLISHED_TOP1]
        if missing:
            raise ParameterError(f"{{accuracy_source}} published: no published ImageNet top-1 for alpha "
                                 f"{missing[0][0]:g}, resolution {missing[0][1]} (TF-Slim published alpha 0.25-1.0 "
                                 "at 128, 160, 192, 224)")
        os.makedirs(out, exist_ok=True)
        rows, by_point = published.rows(points)
        budgets, native = {out: rows}, None
        contents = {(out, alpha, resolution): content for (alpha, resolution), content in by_point.items()}
    else:
        dataset = datasets.load_dataset(config.dataset, config.data_dir or None, config.train_split, config.eval_split,
                                        config.validation_fraction)
        native = input_pipeline.native_resolution(dataset)
        points = grid_points(grid, alphas, resolutions, native)
        print(f"[sweep] {dataset.name}: its images' median short side is {native} pixels; a ρ above it only "
              "upsamples them", flush=True)
        epochs = [config.epochs, 2 * config.epochs] if doubled else [config.epochs]
        budgets, contents = {}, {}
        for budget in epochs:
            budget_out = names.sweep_budget(out, budget) if doubled else out
            os.makedirs(budget_out, exist_ok=True)
            budget_config = config.copy_and_resolve_references()
            budget_config.epochs = budget
            budgets[budget_out] = []
            for index, (alpha, resolution) in enumerate(points, 1):
                minutes = (time.monotonic() - start) / 60
                print(f"[sweep {index}/{len(points)}{f', {budget} epochs' if doubled else ''}] alpha {alpha:g}, "
                      f"resolution {resolution}: {len(points) - index} more after it, {minutes:.1f} min so far",
                      flush=True)
                row, contents[(budget_out, alpha, resolution)] = trained.measure_one(
                    budget_config, alpha, resolution, budget_out, threads, native)
                budgets[budget_out].append(row)
                _write_results(budgets[budget_out], budget_out, threads, native)
    _time_together(budgets, contents, threads)
    print(f"[sweep] {sum(map(len, budgets.values()))} models in {(time.monotonic() - start) / 60:.1f} min; "
          f"results in {out}")
    final_out, rows = list(budgets.items())[-1]
    selected = None
    if latency_budget_ms is not None:
        selected = analysis.select(rows, latency_budget_ms, analysis.accuracy_key(rows))
    for budget_out, budget_rows in budgets.items():
        _write_results(budget_rows, budget_out, threads, native, latency_budget_ms,
                       selected if budget_out == final_out else None)
    if doubled:
        shorter = list(budgets.values())[0]
        comparison = analysis.compare_budgets(shorter, rows)
        _write_results(rows, out, threads, native, latency_budget_ms, selected, shorter, comparison)
        print(f"[sweep] {tables.verdict(comparison)}", flush=True)
    if latency_budget_ms is not None:
        if selected is None:
            fastest = min(row["latency_median_ms"] for row in rows)
            raise ParameterError(
                f"{{latency_budget_ms}} {latency_budget_ms:g}: no model fits; the fastest takes {fastest:.3f} ms"
            )
        print(f"[sweep] {analysis.budget_sentence(selected, latency_budget_ms, rows)}")
        if not from_published:
            workdir = trained.workdir(final_out, selected["alpha"], selected["resolution"])
            for source, target in ((names.SWEEP_MODEL, names.SWEEP_SELECTED), (names.LABELS, names.LABELS)):
                with files.atomic_output(os.path.join(out, target)) as temporary:
                    shutil.copyfile(os.path.join(workdir, source), temporary)
    return rows


def grid_points(grid, alphas, resolutions=None, native_resolution=None):
    """The (α, ρ) of a grid, cheapest first (mult-adds grow as α² ρ²): early results come early.

    The paper grid keeps the ρ values at or below `native_resolution` (when given): its ρ axis
    is about pixels the data has."""
    if grid not in GRIDS:
        raise ParameterError(f"{{grid}} must be full or paper, got {grid!r}")
    if resolutions is None:
        resolutions = PAPER_RESOLUTIONS if grid == "full" else RESOLUTIONS
    if not alphas or not resolutions:
        raise ParameterError("{alphas} and {resolutions} need at least one value each")
    for alpha, resolution in itertools.product(alphas, resolutions):
        try:
            network.validate_arguments(alpha, resolution)
        except ParameterError as error:  # the grid's parameters are plural
            raise ParameterError(error.template.replace("{alpha}", "{alphas}").replace("{resolution}", "{resolutions}"))
    if grid == "full":
        points = set(itertools.product(alphas, resolutions))
    else:
        sides = [side for side in resolutions if native_resolution is None or side <= native_resolution]
        if not sides:
            raise ParameterError(f"{{resolutions}} {','.join(map(str, resolutions))} are all above the data's own "
                                 f"resolution ({native_resolution} pixels): give smaller ones for the paper grid")
        held = max((side for side in sides if side <= PAPER_RESOLUTION), default=min(sides))
        points = {(alpha, held) for alpha in alphas} | {(PAPER_ALPHA, side) for side in sides}
    return sorted(points, key=lambda point: (point[0] ** 2 * point[1] ** 2, point))


def _time_together(budgets, contents, threads):
    """Sets each row's latency from its int8 file in `contents` ({(its budget's OUT, α, ρ):
    bytes}), all timed interleaved in one fresh process (latency.compare), so that the
    machine's load, which changes from one model's timing to the next, slows them alike."""
    print(f"[sweep] timing the {len(contents)} int8 files together", flush=True)
    timings = latency.compare_in_fresh_process(contents, (threads,))
    for budget_out, rows in budgets.items():
        for row in rows:
            stats = timings[(budget_out, row["alpha"], row["resolution"])][threads]
            row.update(latency_median_ms=stats["median_ms"], latency_p90_ms=stats["p90_ms"])


def _write_results(rows, out, threads, native_resolution, latency_budget_ms=None, selected=None, shorter=None,
                   comparison=None):
    files.write_atomically(os.path.join(out, names.SWEEP_CSV), tables.format_csv(rows))
    files.write_atomically(os.path.join(out, names.SWEEP_TABLE), tables.format_markdown(
        rows, threads, native_resolution, latency_budget_ms, selected, comparison))
    accuracy = analysis.accuracy_key(rows)
    for x_key, x_label, budget in (
            ("latency_median_ms", f"int8 latency, batch 1, {threads} thread(s), median (ms)", latency_budget_ms),
            ("mult_adds_m", "Mult-adds (millions)", None)):
        figures.accuracy_trade_off(rows, accuracy, x_key, x_label, analysis.pareto_front(rows, x_key, accuracy),
                                   os.path.join(out, names.SWEEP_PLOTS[x_key]), budget, shorter)
