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
