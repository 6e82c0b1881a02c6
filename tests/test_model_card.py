"""Where a model fails: per-class metrics, the evaluation's JSON and pictures, latency by
block, the model card (its MediaPipe snippet run as written) and class weights."""

import json
import pathlib
import re
import shutil

import numpy as np
import pytest

from mobilenet.commands import evaluate as evaluate_command
from mobilenet.data import class_names
from mobilenet.data import class_balance
from mobilenet.exporting import comparison, release
from mobilenet.measure import class_metrics
from mobilenet.training import loop as training

from helpers import tiny_config, write_image_folder


def test_per_class_metrics_equal_hand_computed_ones():
    true = [0, 0, 0, 1, 1, 2]
    predicted = [0, 0, 1, 1, 2, 3]  # 3: an output outside the dataset's classes
    matrix = class_metrics.confusion_matrix(true, predicted, 3, other_column=True)
    assert matrix.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]] and matrix.sum() == len(true)
    rows = class_metrics.per_class(matrix, ["a", "b", "c"])
    # a: 2 of 2 predicted a are right, 2 of 3 a found; b: 1 of 2 and 1 of 2; c: never predicted, never found.
    assert rows[0] == {"class": "a", "precision": 1.0, "recall": 2 / 3, "f1": pytest.approx(0.8), "support": 3}
    assert rows[1] == {"class": "b", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert rows[2] == {"class": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert class_metrics.macro_average(rows)["recall"] == pytest.approx((2 / 3 + 0.5) / 3)
    assert class_metrics.top_confusions(matrix, ["a", "b", "c"], 2) == [("a", "b", 1), ("b", "c", 1)]
    assert class_balance.balanced_weights([30, 10]) == {0: pytest.approx(40 / 60), 1: 2.0}


def test_wordnet_ids_get_their_names_offline_and_agree_with_google_s_labels(shared):
    """From what TFDS installs, no network; the same names as Google's published labels file."""
    assert class_names.readable(["n01440764", "cat"]) == ["n01440764 (tench)", "cat"]
    imagenette = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079", "n03394916", "n03417042",
                  "n03425413", "n03445777", "n03888605"]
    names = class_names.display_names(imagenette)
    assert names[2:4] == ["cassette player", "chain saw"] and class_names.display_names(["cat", "n01440764"]) is None
    google = (shared / "models/mobilenet_v1_official/imagenet_labels.txt").read_text().splitlines()
    by_name = {name.split(",")[0].lower() for name in google}
    assert sum(name.lower() in by_name for name in names) >= 8  # Google's file words a few otherwise


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """The tiny run exported to int8 with its card, beside a copy of its best.keras."""
    workdir, folder = tiny_run
    output = tmp_path_factory.mktemp("card") / "tiny_int8.tflite"
    result = release.export(str(workdir), output=str(output), threads=(1, 2), representative_samples=8,
                            benchmark_runs=10)
    return result, folder


def test_evaluate_writes_per_class_json_and_pictures(exported, tiny_run, tmp_path, capsys):
    result, folder = exported
    out = tmp_path / "evaluation.json"
    evaluate_command.run(["mobilenet evaluate", "--tflite", result.tflite, "--dataset", f"folder:{folder}",
                          "--model", str(tiny_run[0] / "best.keras"), "--json", str(out)])  # a failure exits
    results = json.loads(out.read_text())
    assert {"top1", "top5", "per_class", "confusion_matrix", "keras"} <= set(results)  # the float model beside it
    for report in (results, results["keras"]):
        matrix = np.array(report["confusion_matrix"])
        assert matrix.shape == (3, 3) and matrix.sum() == results["examples"] == 12
        assert [row["class"] for row in report["per_class"]] == ["blue", "green", "red"]
        assert {"precision", "recall", "f1", "support"} <= set(report["per_class"][0])
        assert report["top1"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert (tmp_path / "evaluation.confusion.png").exists()
    printed = capsys.readouterr().out
    assert "recall the file lost against the float model" in printed and "most frequent confusions" in printed


def test_model_card_says_what_was_shipped(exported):
    result, _ = exported
    card = open(result.card).read()
    for heading in ("## The model", "## The data", "## Training", "## Accuracy", "## Latency", "## How to run it",
                    "## Limits"):
        assert heading in card
    assert "uint8 [1, 32, 32, 3], scale 1, zero point 0" in card and "do not predict a phone" in card
    for picture in re.findall(r"!\[[^]]*\]\(([^)]+)\)", card):
        assert (pathlib.Path(result.tflite).parent / picture).exists(), picture
    assert set(result.report["float32_latency_ms"]) == {"1", "2"}


def test_model_card_mediapipe_snippet_runs_as_written(exported, tmp_path, monkeypatch, capsys):
    """In a folder holding the file and photo.jpg, a grayscale JPEG (the case the snippet converts)."""
    import tensorflow as tf

    result, folder = exported
    snippet = re.search(r"```python\n(.*?)```", open(result.card).read(), re.DOTALL).group(1)
    shutil.copy(result.tflite, tmp_path)
    gray = np.random.default_rng(0).integers(0, 256, (40, 48, 1), dtype=np.uint8)
    (tmp_path / "photo.jpg").write_bytes(tf.io.encode_jpeg(gray).numpy())
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "model card", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and {line.split()[0] for line in lines} == {"blue", "green", "red"}


@pytest.mark.slow  # end to end
def test_latency_by_block_covers_the_whole_model(exported, tiny_run, capsys):
    result, _ = exported
    rows, file_latency = comparison.block_latency(result.tflite, str(tiny_run[0] / "best.keras"), threads=(1,), runs=20)
    assert [row["block"] for row in rows] == ["stem", *[f"block {i}" for i in range(1, 14)], "head"]
    assert sum(row["mult_adds"] for row in rows) == result.report["mult_adds"]  # counted from the files
    assert sum(row["mult_adds_share"] for row in rows) == pytest.approx(1.0)
    with capsys.disabled():  # reported, not asserted: timings
        print(f"\nblocks sum {sum(row['latency_ms_1'] for row in rows):.4f} ms, the file {file_latency[1]:.4f} ms")


@pytest.mark.slow  # end to end
def test_balanced_class_weights_raise_the_minority_recall(tmp_path):
    """Blue has 3 training images to the others' 24: weighted, the model finds it."""
    import keras

    from mobilenet.data import datasets, input_pipeline

    folder = write_image_folder(tmp_path / "skewed", per_split=(("train", 24), ("val", 12)))
    for path in sorted((folder / "train" / "blue").iterdir())[3:]:
        path.unlink()
    dataset = datasets.load_dataset(f"folder:{folder}")
    blue = dataset.class_names.index("blue")
    recalls = {}
    for class_weight in ("", "balanced"):
        config = tiny_config(f"folder:{folder}", epochs=8, class_weight=class_weight, batch_norm_momentum=0.5,
                             learning_rate=0.02, dropout_rate=0.0)
        run = training.train(config, str(tmp_path / f"run_{class_weight or 'plain'}"))
        model = keras.saving.load_model(run.final_model, safe_mode=True)
        predicted, labels = [], []
        for pixels, label in input_pipeline.eval_images(dataset, 32, 64):
            predicted.append(model.predict_on_batch(pixels).argmax(1))
            labels.append(label.numpy())
        predicted, labels = np.concatenate(predicted), np.concatenate(labels)
        recalls[class_weight] = float(np.mean(predicted[labels == blue] == blue))
    assert recalls["balanced"] > recalls[""], recalls
