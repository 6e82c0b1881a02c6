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
  selected.tflite, labels.txt with a budget (trained): the most accurate model within it
  epochs_E/                   with `doubled`: each budget's own tables, plots and runs

With target "micro", every model is also converted for TensorFlow Lite Micro (trained: exported
beside its phone file, with its C++ sources; published: at `num_classes`, random weights), and
its flash and arena measured with TFLM go into the tables, with two more plots,
accuracy_vs_arena.png and accuracy_vs_flash.png; `ram_budget_kb` and `flash_budget_kb` bound
the pick with `latency_budget_ms`, and a trained pick's TFLM file is copied as
selected_int8_micro.tflite. Published, it answers "which MobileNet fits 256 KiB of RAM and 1 MiB
of flash" without training; a point without a published top-1 (ρ 96) appears with its costs,
but no accuracy to be picked by. Its default ρ values include 96.

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
from mobilenet.exporting import release
from mobilenet.measure import latency, litert, tflm
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
              accuracy_source="trained", doubled=False, target="phone", ram_budget_kb=None, flash_budget_kb=None,
              num_classes=None):
    """Measures every model of the grid; returns the rows (dicts of tables.COLUMNS, or of
    tables.PUBLISHED_COLUMNS for published accuracy, and tables.MICRO_COLUMNS for target
    "micro"; with `doubled`, those of the longer budget).

    `config` is the training config of every model (its alpha and resolution are set per
    model; unused for published accuracy). `grid` is "full" (every α × ρ) or "paper" (α
    at ρ PAPER_RESOLUTION, ρ at α PAPER_ALPHA); `resolutions` None takes the grid's own.
    `doubled` trains every model again, from scratch, for twice config.epochs, in
    OUT/epochs_2E/ beside OUT/epochs_E/, and compares the two (trained accuracy only).
    `target` "micro" also converts every model for TensorFlow Lite Micro and measures its flash
    and arena (needs the tflite-micro wheel); `num_classes` (published accuracy only; default
    1000) is the class count the files are built at. With budgets (`latency_budget_ms`, and
    for "micro" `ram_budget_kb`, the arena, and `flash_budget_kb`, in KiB), the most accurate
    model within all of them is named (and, trained, copied to OUT/selected.tflite, its TFLM
    file to OUT/selected_int8_micro.tflite); a ParameterError says so when none is (the tables
    are written first).
    """
    if accuracy_source not in ACCURACY_SOURCES:
        raise ParameterError(f"{{accuracy_source}} must be trained or published, got {accuracy_source!r}")
    from_published = accuracy_source == "published"
    if doubled and from_published:
        raise ParameterError("{doubled} is for trained accuracy: published accuracy has no epochs to double")
    litert.check_threads((threads,))
    micro = check_micro(target, ram_budget_kb, flash_budget_kb)
    for name, value in (("latency_budget_ms", latency_budget_ms), ("ram_budget_kb", ram_budget_kb),
                        ("flash_budget_kb", flash_budget_kb)):
        if value is not None and value <= 0:
            raise ParameterError(f"{{{name}}} must be > 0, got {value:g}")
    if num_classes is not None and not from_published:
        raise ParameterError("{num_classes} is for published accuracy: a trained model has its dataset's classes")
    if num_classes is None:
        num_classes = 1000
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ParameterError(f"{{num_classes}} must be an integer >= 2 (a classifier's classes), got {num_classes!r}")
    if micro:
        tflm.check_available()  # before anything is measured
        if resolutions is None and grid == "full":
            resolutions = RESOLUTIONS  # a chip's sizes start at 96
    points = grid_points(grid, alphas, resolutions)  # the grid's own checks, before any data is read
    limits = dict(latency_budget_ms=latency_budget_ms, ram_budget_kb=ram_budget_kb, flash_budget_kb=flash_budget_kb)

    start = time.monotonic()
    if from_published:
        missing = [point for point in points if point not in published.PUBLISHED_TOP1]
        if missing and not micro:
            raise ParameterError(f"{{accuracy_source}} published: no published ImageNet top-1 for alpha "
                                 f"{missing[0][0]:g}, resolution {missing[0][1]} (TF-Slim published alpha 0.25-1.0 "
                                 "at 128, 160, 192, 224; with {target} micro, such a model is measured without one)")
        os.makedirs(out, exist_ok=True)
        rows, by_point = published.rows(points, num_classes, micro)
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
                    budget_config, alpha, resolution, budget_out, threads, native, micro)
                budgets[budget_out].append(row)
                _write_results(budgets[budget_out], budget_out, threads, native)
    _time_together(budgets, contents, threads)
    print(f"[sweep] {sum(map(len, budgets.values()))} models in {(time.monotonic() - start) / 60:.1f} min; "
          f"results in {out}")
    final_out, rows = list(budgets.items())[-1]
    accuracy = analysis.accuracy_key(rows)
    constrained = any(value is not None for value in limits.values())
    selected = analysis.select(rows, accuracy=accuracy, **limits) if constrained else None
    for budget_out, budget_rows in budgets.items():
        _write_results(budget_rows, budget_out, threads, native, limits, selected if budget_out == final_out else None)
    if doubled:
        shorter = list(budgets.values())[0]
        comparison = analysis.compare_budgets(shorter, rows)
        _write_results(rows, out, threads, native, limits, selected, shorter, comparison)
        print(f"[sweep] {tables.verdict(comparison)}", flush=True)
    if constrained:
        if selected is None:
            raise ParameterError(analysis.no_fit_message(rows, accuracy, **limits))
        print(f"[sweep] {analysis.budget_sentence(selected, rows=rows, **limits)}")
        if not from_published:
            workdir = trained.workdir(final_out, selected["alpha"], selected["resolution"])
            copies = [(names.SWEEP_MODEL, names.SWEEP_SELECTED), (names.LABELS, names.LABELS)]
            if micro:
                copies.append((names.micro_tflite_name(selected["alpha"], selected["resolution"]),
                               names.SWEEP_SELECTED_MICRO))
            for source, copy in copies:
                with files.atomic_output(os.path.join(out, copy)) as temporary:
                    shutil.copyfile(os.path.join(workdir, source), temporary)
    return rows


def check_micro(target, ram_budget_kb=None, flash_budget_kb=None):
    """Whether `target` is "micro"; ParameterError for an unknown target, or for a RAM or flash
    budget without "micro" (they are a microcontroller build's)."""
    release.check_target(target)
    given = [name for name, value in (("ram_budget_kb", ram_budget_kb), ("flash_budget_kb", flash_budget_kb))
             if value is not None]
    if given and target != "micro":
        raise ParameterError(f"{' and '.join(f'{{{name}}}' for name in given)} "
                             f"{'is a budget' if len(given) == 1 else 'are budgets'} of a microcontroller build: "
                             "add {target} micro (its arena and flash are measured with TensorFlow Lite Micro)")
    return target == "micro"


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


def _write_results(rows, out, threads, native_resolution, limits=None, selected=None, shorter=None,
                   comparison=None):
    """The tables and plots of `rows`; `limits`: {budget: value or None} (analysis.BUDGETS)."""
    budgets = limits or {}
    files.write_atomically(os.path.join(out, names.SWEEP_CSV), tables.format_csv(rows))
    files.write_atomically(os.path.join(out, names.SWEEP_TABLE), tables.format_markdown(
        rows, threads, native_resolution, budgets.get("latency_budget_ms"), selected, comparison,
        budgets.get("ram_budget_kb"), budgets.get("flash_budget_kb")))
    accuracy = analysis.accuracy_key(rows)
    plots = [("latency_median_ms", f"int8 latency, batch 1, {threads} thread(s), median (ms)",
              budgets.get("latency_budget_ms"), "ms", names.SWEEP_PLOTS),
             ("mult_adds_m", "Mult-adds (millions)", None, "", names.SWEEP_PLOTS)]
    if rows and "arena_kib" in rows[0]:
        plots += [("arena_kib", "TFLM arena (KiB), the smallest that allocates, 64-bit host",
                   budgets.get("ram_budget_kb"), "KiB", names.SWEEP_MICRO_PLOTS),
                  ("flash_kib", "TFLM flash (KiB), the file's bytes", budgets.get("flash_budget_kb"), "KiB",
                   names.SWEEP_MICRO_PLOTS)]
    for x_key, x_label, budget, unit, paths in plots:
        figures.accuracy_trade_off(rows, accuracy, x_key, x_label, analysis.pareto_front(rows, x_key, accuracy),
                                   os.path.join(out, paths[x_key]), budget, shorter, unit)
