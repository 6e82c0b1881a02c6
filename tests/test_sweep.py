"""The α × ρ sweep on a 2 × 2 grid of tiny models, trained 1 and 2 epochs: tables, plots,
selection, resume; and what it says, on hand-made tables: the front, inversions, upsampled
images, the two budgets' verdict."""

import csv
import os

import numpy as np
import pytest
import tensorflow as tf

from mobilenet import figures, names
from mobilenet.data import datasets, input_pipeline
from mobilenet.selection import analysis, sweep_runner, tables

from helpers import run_script, tiny_config

# The tiny folder's images are 48 pixels on their short side: ρ 56 upsamples them.
ALPHAS, RESOLUTIONS = (0.25, 0.5), (32, 56)


def read_rows(out):
    with open(out / "sweep.csv") as file:
        return [{key: value == "True" if value in ("True", "False") else float(value) for key, value in row.items()}
                for row in csv.DictReader(file)]


@pytest.fixture(scope="module")
def swept(image_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    config = tiny_config(f"folder:{image_folder}", epochs=1)
    rows = sweep_runner.run_sweep(config, ALPHAS, RESOLUTIONS, str(out), latency_budget_ms=1000, doubled=True)
    return out, rows


@pytest.mark.slow  # end to end
def test_every_model_is_trained_at_both_budgets_exported_and_measured(swept):
    out, rows = swept
    table = read_rows(out)
    assert len(table) == 4 and table == rows and {row["epochs"] for row in rows} == {2}
    assert {row["epochs"] for row in read_rows(out / "epochs_1")} == {1}
    assert {(row["alpha"], row["resolution"]) for row in table} == {(a, r) for a in ALPHAS for r in RESOLUTIONS}
    assert [row["mult_adds_m"] for row in table] == sorted(row["mult_adds_m"] for row in table)  # cheapest first
    for row in table:
        workdir = out / "epochs_2" / "runs" / names.model_name(row["alpha"], int(row["resolution"]))
        assert (workdir / "int8.tflite").stat().st_size / 1e6 == pytest.approx(row["int8_size_mb"])
        assert 0 <= row["int8_top1"] <= 1 and 0 <= row["float_top1"] <= 1
        assert 0 < row["latency_median_ms"] <= row["latency_p90_ms"]
        assert row["upsampled"] == (row["resolution"] == 56)
    # Costs grow with α and ρ.
    by_point = {(row["alpha"], row["resolution"]): row for row in table}
    assert by_point[0.5, 32]["params_m"] > by_point[0.25, 32]["params_m"] == by_point[0.25, 56]["params_m"]
    assert by_point[0.25, 56]["mult_adds_m"] > by_point[0.25, 32]["mult_adds_m"]


@pytest.mark.slow  # end to end
def test_tables_plots_and_selection_agree(swept):
    out, rows = swept
    markdown = (out / "sweep.md").read_text()
    assert markdown.count("\n| 0.") == 4 + 4  # the 2-epoch table, then each model at both budgets
    assert "| 0.25 | 56 ↑ |" in markdown and "median short side of its training images (48 pixels)" in markdown
    assert "### The same grid at 1 and 2 epochs" in markdown and "Kendall's tau" in markdown
    for directory in (out, out / "epochs_1", out / "epochs_2"):
        for name in ("accuracy_vs_latency.png", "accuracy_vs_multadds.png"):
            assert (directory / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = max(rows, key=lambda row: (row["int8_top1"], -row["latency_median_ms"]))
    workdir = out / "epochs_2" / "runs" / names.model_name(best["alpha"], best["resolution"])
    assert (out / "selected.tflite").read_bytes() == (workdir / "int8.tflite").read_bytes()
    assert (out / "labels.txt").read_text().split() == ["blue", "green", "red"]
    assert f"Within 1000 ms: alpha {best['alpha']:g}, resolution {best['resolution']}," in markdown
    assert "Inversions along the paper's axes" in markdown and "neighbouring pairs" in markdown
    assert not [name for name in os.listdir(out) if "partial" in name]


def test_selection_and_pareto_front():
    rows = [
        {"alpha": 0.25, "resolution": 128, "int8_top1": 0.5, "latency_median_ms": 1.0, "mult_adds_m": 10},
        {"alpha": 0.5, "resolution": 128, "int8_top1": 0.7, "latency_median_ms": 2.0, "mult_adds_m": 30},
        {"alpha": 0.25, "resolution": 224, "int8_top1": 0.6, "latency_median_ms": 2.5, "mult_adds_m": 25},
        {"alpha": 1.0, "resolution": 224, "int8_top1": 0.8, "latency_median_ms": 9.0, "mult_adds_m": 500},
    ]
    assert analysis.select(rows, 3.0) is rows[1]
    assert analysis.select(rows, 0.5) is None
    assert analysis.pareto_front(rows, "latency_median_ms") == [rows[0], rows[1], rows[3]]
    assert analysis.pareto_front(rows, "mult_adds_m") == [rows[0], rows[2], rows[1], rows[3]]


@pytest.mark.slow  # end to end
def test_interrupted_sweep_resumes_and_reuses_finished_models(swept, image_folder):
    """A sweep cut off after some models: rerunning reuses them, trains only the rest."""
    out, rows = swept
    workdir = out / "epochs_2" / "runs" / "mobilenet_v1_0.50_56"
    finished = {path: path.stat().st_mtime_ns for path in out.glob("epochs_*/runs/*/int8.tflite")
                if path.parent != workdir}
    for name in ("int8.tflite", "int8.report.json", "final.keras"):
        (workdir / name).unlink()
    result = run_script(
        "-m", "mobilenet", "sweep", "--alphas", "0.25,0.5", "--resolutions", "32,56", "--dataset",
        f"folder:{image_folder}", "--epochs", "1", "--doubled", "--out", str(out), "--config.batch_size=8",
        "--config.eval_batch_size=8",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[sweep 4/4, 2 epochs] alpha 0.5, resolution 56" in result.stdout
    assert "[sweep] timing the 8 int8 files together" in result.stdout
    assert {path: path.stat().st_mtime_ns for path in finished} == finished  # not exported again
    assert (workdir / "int8.tflite").exists() and len(read_rows(out)) == 4


def test_the_data_s_resolution_is_the_median_short_side_of_its_training_images(tmp_path):
    short_sides = {}
    for index, (height, width) in enumerate([(30, 80), (70, 40), (50, 50), (90, 60), (20, 100), (44, 45)]):
        for name in ("a", "b"):
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / f"{index}.png").write_bytes(
                tf.io.encode_png(np.zeros((height, width, 3), np.uint8)).numpy())
            short_sides[os.path.join(name, f"{index}.png")] = min(height, width)
    dataset = datasets.load_dataset(f"folder:{tmp_path}", validation_fraction=0.5)
    train = [path for path, _, split in dataset.folder.rows() if split == "train"]
    assert input_pipeline.native_resolution(dataset) == int(np.median([short_sides[path] for path in train]))


def test_the_paper_grid_keeps_the_sides_the_data_has():
    points = sweep_runner.grid_points("paper", [0.25, 0.5, 0.75, 1.0], None, native_resolution=160)
    assert sorted(points) == sorted([(0.25, 128), (0.5, 128), (0.75, 128), (1.0, 128), (0.5, 96), (0.5, 160)])
    # A smaller dataset: α varies at the largest side it has under 128.
    assert sorted(sweep_runner.grid_points("paper", [0.25, 0.5], None, native_resolution=100)) == [(0.25, 96), (0.5, 96)]
    assert len(sweep_runner.grid_points("full", [0.5], None, native_resolution=100)) == 4  # the full grid is as asked
    with pytest.raises(ValueError, match="^resolutions 192,224 are all above the data's own resolution"):
        sweep_runner.grid_points("paper", [0.5], [192, 224], native_resolution=160)


def test_upsampled_models_are_marked_and_the_pick_says_so():
    rows = [{"alpha": 0.5, "resolution": side, "mult_adds_m": side / 10, "params_m": 1.3, "int8_size_mb": 1.0,
             "float_top1": top1, "int8_top1": top1, "latency_median_ms": side / 100, "latency_p90_ms": side / 90,
             "epochs": 8, "upsampled": side > 160} for side, top1 in ((128, 0.70), (160, 0.74), (192, 0.75))]
    markdown = tables.format_markdown(rows, 1, native_resolution=160, latency_budget_ms=5, selected=rows[2])
    assert "| 0.5 | 192 ↑ |" in markdown and "| 0.5 | 160 |" in markdown
    assert "median short side of its training images (160 pixels)" in markdown
    assert "ρ 192 is above the data's own resolution" in analysis.budget_sentence(rows[2], 5, rows)
    assert "above the data's own resolution" not in analysis.budget_sentence(rows[1], 5, rows)


def test_the_two_budgets_verdict_on_hand_made_tables():
    def grid(top1s, epochs):
        return [{"alpha": alpha, "resolution": 128, "int8_top1": top1, "latency_median_ms": latency, "epochs": epochs}
                for (alpha, latency), top1 in zip(((0.25, 0.2), (0.5, 0.4), (0.75, 0.7), (1.0, 1.1)), top1s)]

    held = analysis.compare_budgets(grid([0.60, 0.65, 0.70, 0.72], 8), grid([0.70, 0.74, 0.78, 0.80], 16))
    assert held["tau"] == 1 and held["ranking_holds"] and held["front_holds"]
    assert held["fronts"][0] == [(0.25, 128), (0.5, 128), (0.75, 128), (1.0, 128)]
    assert tables.verdict(held) == ("The ranking holds when the epochs double, from 8 to 16; the Pareto front is "
                                    "the same.")
    # At 8 epochs 1.0 trails 0.75 (an inversion, and off the front); at 16 it leads.
    changed = analysis.compare_budgets(grid([0.60, 0.65, 0.72, 0.70], 8), grid([0.70, 0.74, 0.78, 0.80], 16))
    assert changed["tau"] == pytest.approx(4 / 6) and not changed["ranking_holds"] and not changed["front_holds"]
    assert [len(found) for found in changed["inversions"]] == [1, 0]
    assert "does not hold when the epochs double (tau 0.67)" in tables.verdict(changed)
    assert "the Pareto front changes" in tables.verdict(changed)
    assert analysis.kendall_tau([1, 2, 3], [3, 2, 1]) == -1


def test_inversions_counted_along_the_paper_axes():
    def row(alpha, resolution, top1):
        return {"alpha": alpha, "resolution": resolution, "int8_top1": top1}

    rows = [row(0.5, 128, 0.50), row(0.5, 160, 0.55), row(0.5, 192, 0.53),  # 192 below 160: one
            row(1.0, 128, 0.48), row(1.0, 160, 0.60), row(1.0, 192, 0.61)]  # 1.0-128 below 0.5-128: one
    found = analysis.inversions(rows)
    assert [(small["alpha"], small["resolution"], large["alpha"], large["resolution"]) for small, large in found] == [
        (0.5, 160, 0.5, 192), (0.5, 128, 1.0, 128)]
    assert analysis.neighbour_pairs(rows) == 2 * 2 + 3  # along ρ at each α, along α at each ρ


def test_point_labels_do_not_overlap_where_points_crowd():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    # Four points nearly on top of each other, and one far away, as close models of two α's lie.
    labels = [(1.0, 60.0, "0.75-160", True), (1.02, 60.1, "1-128", True), (1.04, 59.9, "0.5-224", False),
              (0.98, 60.05, "0.75-192", True), (3.0, 70.0, "1-224", True)]
    axes.plot([x for x, *_ in labels], [y for _, y, *_ in labels], "o")
    figures.place_labels(figure, axes, labels)
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in axes.texts]
    assert [text.get_text() for text in axes.texts] == [text for *_, text, _ in labels]
    # All at the same offset, the crowd's labels would overlap in 10 pairs.
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]


def test_paper_grid_is_one_factor_at_a_time():
    points = sweep_runner.grid_points("paper", [0.25, 0.5, 0.75, 1.0], [128, 160, 192, 224])
    assert sorted(points) == sorted([(0.25, 128), (0.5, 128), (0.75, 128), (1.0, 128), (0.5, 160), (0.5, 192),
                                     (0.5, 224)])
    with pytest.raises(ValueError, match="^grid must be full or paper, got 'half'"):
        sweep_runner.grid_points("half", [0.5], [128])


@pytest.mark.slow  # end to end
def test_published_accuracy_beside_latency_measured_here(tmp_path):
    rows = sweep_runner.run_sweep(None, [0.25], [128, 160], str(tmp_path), accuracy_source="published",
                           latency_budget_ms=1000)
    assert [(row["alpha"], row["resolution"], row["published_top1"]) for row in rows] == [
        (0.25, 128, 0.415), (0.25, 160, 0.455)]  # tensorflow/models research/slim/nets/mobilenet_v1.md
    for row in rows:
        assert row["latency_median_ms"] > 0 and row["int8_size_mb"] > 0.2  # a real int8 conversion, timed
    assert "Within 1000 ms: alpha 0.25, resolution 160" in (tmp_path / "sweep.md").read_text()
    with pytest.raises(ValueError, match="no published ImageNet top-1 for alpha 0.3, resolution 128"):
        sweep_runner.run_sweep(None, [0.3], [128], str(tmp_path), accuracy_source="published")


# A microcontroller's budgets (target "micro"): RAM is the TFLM arena, flash the file, in KiB.
def micro_rows():
    def row(alpha, resolution, top1, latency, arena, flash):
        return {"alpha": alpha, "resolution": resolution, "mult_adds_m": alpha * resolution, "params_m": alpha,
                "int8_size_mb": flash / 1000, "published_top1": top1, "latency_median_ms": latency,
                "latency_p90_ms": latency * 1.2, "num_classes": 10, "arena_kib": arena, "flash_kib": flash}

    return [row(0.25, 96, None, 0.1, 84.0, 317.0),  # ρ 96: no published top-1
            row(0.25, 128, 0.415, 0.2, 126.0, 318.0),
            row(0.5, 128, 0.563, 0.5, 190.0, 890.0),
            row(0.5, 160, 0.591, 0.8, 290.0, 891.0),
            row(1.0, 128, 0.652, 1.5, 380.0, 3300.0)]


def test_the_pick_is_the_most_accurate_model_within_every_budget():
    rows = micro_rows()
    pick = lambda **budgets: analysis.select(rows, accuracy="published_top1", **budgets)  # noqa: E731
    assert pick(ram_budget_kb=256) is rows[2]  # 0.5-160 needs 290 KiB of arena
    assert pick(ram_budget_kb=256, flash_budget_kb=512) is rows[1]  # 0.5-128 is 890 KiB of flash
    assert pick(flash_budget_kb=1024) is rows[3]
    assert pick(flash_budget_kb=1024, latency_budget_ms=0.6) is rows[2]
    assert pick(ram_budget_kb=400, flash_budget_kb=4000) is rows[4]
    assert pick(latency_budget_ms=0.15) is None  # only 0.25-96 is that fast, and it has no accuracy
    assert pick(ram_budget_kb=100) is None
    assert analysis.pareto_front(rows, "arena_kib", "published_top1") == rows[1:]
    assert analysis.budget_sentence(rows[1], None, rows, 256, 512) == (
        "within 256 KiB of RAM and 512 KiB of flash: alpha 0.25, resolution 128, published top1 0.4150, 0.200 ms, "
        "arena 126.0 KiB, flash 318.0 KiB")


def test_when_no_model_fits_the_message_names_the_budgets_and_the_smallest_arena_and_flash():
    rows = micro_rows()
    message = analysis.no_fit_message(rows, "published_top1", ram_budget_kb=64, flash_budget_kb=300)
    assert message == ("{ram_budget_kb} 64, {flash_budget_kb} 300: no model fits; the smallest arena is 84.0 KiB "
                       "(alpha 0.25, resolution 96), the smallest flash 317.0 KiB (alpha 0.25, resolution 96)")
    message = analysis.no_fit_message(rows, "published_top1", latency_budget_ms=0.05, ram_budget_kb=64)
    assert message.startswith("{latency_budget_ms} 0.05, {ram_budget_kb} 64: no model fits; the fastest takes 0.100 ms;"
                              " the smallest arena is 84.0 KiB")
    # Only a model without an accuracy fits: it says so, and why it is not the pick.
    assert analysis.no_fit_message(rows, "published_top1", ram_budget_kb=100) == (
        "{ram_budget_kb} 100: only models without a published top1 fit (alpha 0.25, resolution 96): a model without "
        "one cannot be picked by accuracy")
    # A latency budget alone reads as it always did.
    assert analysis.no_fit_message(rows, "published_top1", latency_budget_ms=0.01) == (
        "{latency_budget_ms} 0.01: no model fits; the fastest takes 0.100 ms")


def test_micro_tables_have_flash_and_arena_and_mark_models_without_accuracy():
    rows = micro_rows()
    markdown = tables.format_markdown(rows, 1, ram_budget_kb=256, flash_budget_kb=512, selected=rows[1])
    assert "| TFLM flash (KiB) | TFLM arena (KiB) |" in markdown
    assert "| 0.25 | 96 | 24.0 | 0.25 | 0.32 | — † | 0.100 (0.120) | 317.0 | 84.0 |" in markdown
    assert "† no published ImageNet top-1" in markdown and "cannot be picked by accuracy" in markdown
    assert "converted at 10 classes with random weights" in markdown and "64-bit host" in markdown
    assert "Within 256 KiB of RAM and 512 KiB of flash: alpha 0.25, resolution 128," in markdown
    header, first = tables.format_csv(rows).splitlines()[:2]
    assert header.endswith(",num_classes,flash_kib,arena_kib") and ",,0.1," in first  # no accuracy: empty


@pytest.mark.parametrize("arguments,message", [
    (dict(ram_budget_kb=256), "^ram_budget_kb is a budget of a microcontroller build: add target micro"),
    (dict(ram_budget_kb=256, flash_budget_kb=1024, target="phone"),
     "^ram_budget_kb and flash_budget_kb are budgets of a microcontroller build: add target micro"),
    (dict(target="watch"), "^target must be phone or micro, got 'watch'"),
    (dict(target="micro", flash_budget_kb=0), "^flash_budget_kb must be > 0, got 0"),
    (dict(num_classes=10), "^num_classes is for published accuracy"),
    (dict(accuracy_source="published", num_classes=1), "^num_classes must be an integer >= 2"),
])
def test_micro_budgets_and_class_count_are_checked_before_anything_runs(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        sweep_runner.run_sweep(None, [0.25], [128], str(tmp_path / "out"), **arguments)
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def chip(tmp_path_factory):
    """The published sweep for a chip, at tiny cost: α 0.25 at ρ 96 and 128, 10 classes."""
    pytest.importorskip("tflite_micro", reason="tflite-micro (pip install '.[micro]') is not installed")
    out = tmp_path_factory.mktemp("chip")
    rows = sweep_runner.run_sweep(None, [0.25], [96, 128], str(out), accuracy_source="published", target="micro",
                                  num_classes=10, ram_budget_kb=256, flash_budget_kb=1024)
    return out, rows


@pytest.mark.slow  # end to end: two conversions and their TFLM measurements
def test_published_micro_sweep_measures_flash_and_arena_at_the_user_s_class_count(chip):
    out, rows = chip
    by_side = {row["resolution"]: row for row in rows}
    assert by_side[96]["published_top1"] is None and by_side[128]["published_top1"] == 0.415
    for row in rows:
        assert row["num_classes"] == 10
        # 10 classes, not ImageNet's 1000 (a 256 KB head at α 0.25): the file is about 320 KiB.
        assert 250 < row["flash_kib"] < 400 and 50 < row["arena_kib"] < 200
    assert by_side[96]["arena_kib"] < by_side[128]["arena_kib"]  # activations grow with ρ², weights do not
    markdown = (out / "sweep.md").read_text()
    assert "| 0.25 | 96 |" in markdown and "— †" in markdown
    assert "Within 256 KiB of RAM and 1024 KiB of flash: alpha 0.25, resolution 128," in markdown
    for name in ("accuracy_vs_arena.png", "accuracy_vs_flash.png", "accuracy_vs_latency.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "selected.tflite").exists()  # random weights: nothing to ship
    assert analysis.no_fit_message(rows, "published_top1", ram_budget_kb=1, flash_budget_kb=1).startswith(
        f"{{ram_budget_kb}} 1, {{flash_budget_kb}} 1: no model fits; the smallest arena is "
        f"{by_side[96]['arena_kib']:.1f} KiB (alpha 0.25, resolution 96)")


@pytest.mark.slow  # end to end: a trained sweep's micro build and its pick
def test_trained_micro_sweep_copies_the_pick_s_tflm_file(tiny_run, tmp_path):
    """The tiny run, put where the sweep keeps its models, is reused: exported for the phone
    and for TFLM, and picked under RAM and flash budgets."""
    import shutil

    pytest.importorskip("tflite_micro", reason="tflite-micro (pip install '.[micro]') is not installed")
    workdir, folder = tiny_run
    shutil.copytree(workdir, tmp_path / "runs" / names.model_name(0.25, 32))
    rows = sweep_runner.run_sweep(tiny_config(f"folder:{folder}"), [0.25], [32], str(tmp_path), target="micro",
                                  ram_budget_kb=1024, flash_budget_kb=1024)
    row, = rows
    micro_file = tmp_path / "runs" / names.model_name(0.25, 32) / names.micro_tflite_name(0.25, 32)
    assert row["flash_kib"] == micro_file.stat().st_size / 1024 and 0 < row["arena_kib"] < 1024
    assert (tmp_path / names.SWEEP_SELECTED_MICRO).read_bytes() == micro_file.read_bytes()
    assert (tmp_path / names.SWEEP_SELECTED).exists()
    assert "(and its TFLM build as selected_int8_micro.tflite)" in (tmp_path / "sweep.md").read_text()
    with pytest.raises(ValueError, match=r"^ram_budget_kb 1: no model fits; the smallest arena is .* KiB \(alpha 0.25, "
                                         r"resolution 32\), the smallest flash"):
        sweep_runner.run_sweep(tiny_config(f"folder:{folder}"), [0.25], [32], str(tmp_path), target="micro",
                               ram_budget_kb=1)
