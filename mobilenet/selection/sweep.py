"""Choose the right-sized model: MobileNet V1's accuracy against its latency over α × ρ.

`run_sweep(config, alphas, resolutions, out)` is the library call; `python -m mobilenet
sweep` its command line. Two sources of accuracy (mobilenet.selection.trained and .published):

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

import itertools
import os
import shutil
import time

from mobilenet import figures, files, names
from mobilenet.errors import ParameterError
from mobilenet.measure import latency, litert
from mobilenet.model import network
from mobilenet.selection import analysis, published, tables, trained

GRIDS = ("full", "paper")
ACCURACY_SOURCES = ("trained", "published")
# The paper grid's fixed axes, small enough that its 7 models train on 2 CPU cores: α
# varies at ρ PAPER_RESOLUTION, ρ at α PAPER_ALPHA.
PAPER_ALPHA, PAPER_RESOLUTION = 0.5, 128


def run_sweep(config, alphas, resolutions, out, threads=1, latency_budget_ms=None, grid="full",
              accuracy_source="trained"):
    """Measures every model of the grid; returns the rows (dicts of tables.COLUMNS, or of
    tables.PUBLISHED_COLUMNS for published accuracy).

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
    from_published = accuracy_source == "published"
    missing = [point for point in points if from_published and point not in published.PUBLISHED_TOP1]
    if missing:
        raise ParameterError(f"{{accuracy_source}} published: no published ImageNet top-1 for alpha {missing[0][0]:g}, "
                             f"resolution {missing[0][1]} (TF-Slim published alpha 0.25-1.0 at 128, 160, 192, 224)")
    litert.check_threads((threads,))
    if latency_budget_ms is not None and latency_budget_ms <= 0:
        raise ParameterError(f"{{latency_budget_ms}} must be > 0, got {latency_budget_ms:g}")
    os.makedirs(out, exist_ok=True)

    start = time.monotonic()
    if from_published:
        rows, contents = published.rows(points)
    else:
        rows, contents = [], {}
        for index, (alpha, resolution) in enumerate(points, 1):
            minutes = (time.monotonic() - start) / 60
            print(f"[sweep {index}/{len(points)}] alpha {alpha:g}, resolution {resolution}: "
                  f"{len(points) - index} more after it, {minutes:.1f} min so far", flush=True)
            row, contents[(alpha, resolution)] = trained.measure_one(config, alpha, resolution, out, threads)
            rows.append(row)
            _write_results(rows, out, threads)
    _time_together(rows, contents, threads)
    print(f"[sweep] {len(points)} models in {(time.monotonic() - start) / 60:.1f} min; results in {out}")
    selected = None
    if latency_budget_ms is not None:
        selected = analysis.select(rows, latency_budget_ms, analysis.accuracy_key(rows))
    _write_results(rows, out, threads, latency_budget_ms, selected)
    if latency_budget_ms is not None:
        if selected is None:
            fastest = min(row["latency_median_ms"] for row in rows)
            raise ParameterError(
                f"{{latency_budget_ms}} {latency_budget_ms:g}: no model fits; the fastest takes {fastest:.3f} ms"
            )
        print(f"[sweep] {analysis.budget_sentence(selected, latency_budget_ms, rows)}")
        if not from_published:
            workdir = trained.workdir(out, selected["alpha"], selected["resolution"])
            for source, target in ((names.SWEEP_MODEL, names.SWEEP_SELECTED), (names.LABELS, names.LABELS)):
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
            network.validate_arguments(alpha, resolution)
        except ParameterError as error:  # the grid's parameters are plural
            raise ParameterError(error.template.replace("{alpha}", "{alphas}").replace("{resolution}", "{resolutions}"))
    if grid == "full":
        points = set(itertools.product(alphas, resolutions))
    else:
        points = {(alpha, PAPER_RESOLUTION) for alpha in alphas} | {(PAPER_ALPHA, side) for side in resolutions}
    return sorted(points, key=lambda point: (point[0] ** 2 * point[1] ** 2, point))


def _time_together(rows, contents, threads):
    """Sets each row's latency from its int8 file in `contents` ({(α, ρ): bytes}), all timed
    interleaved in one fresh process (latency.compare), so that the machine's load, which
    changes from one model's timing to the next, slows them alike."""
    print(f"[sweep] timing the {len(rows)} int8 files together", flush=True)
    timings = latency.compare_in_fresh_process(contents, (threads,))
    for row in rows:
        stats = timings[(row["alpha"], row["resolution"])][threads]
        row.update(latency_median_ms=stats["median_ms"], latency_p90_ms=stats["p90_ms"])


def _write_results(rows, out, threads, latency_budget_ms=None, selected=None):
    files.write_atomically(os.path.join(out, names.SWEEP_CSV), tables.format_csv(rows))
    files.write_atomically(os.path.join(out, names.SWEEP_TABLE), tables.format_markdown(rows, threads, latency_budget_ms, selected))
    accuracy = analysis.accuracy_key(rows)
    for x_key, x_label, name, budget in (
            ("latency_median_ms", f"int8 latency, batch 1, {threads} thread(s), median (ms)", "accuracy_vs_latency.png",
             latency_budget_ms),
            ("mult_adds_m", "Mult-adds (millions)", "accuracy_vs_multadds.png", None)):
        figures.accuracy_trade_off(rows, accuracy, x_key, x_label, analysis.pareto_front(rows, x_key, accuracy),
                                   os.path.join(out, name), budget)
