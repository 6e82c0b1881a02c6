"""The .tflite files: numerically true to Keras, integer where promised, readable by apps."""

import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from mobilenet.data import datasets, input_pipeline
from mobilenet.exporting import conversion, metadata, release
from mobilenet.measure import evaluation, latency, litert, prediction
from mobilenet.model import costs as model_costs, network as model_lib
from mobilenet.training import loop as training

from conftest import run_script, tiny_config

OFFICIAL = "models/mobilenet_v1_official"


@pytest.fixture(scope="module")
def probe_workdir(shared, tmp_path_factory):
    """A small trained model: the shared ImageNet α 0.25 backbone with an Imagenette head."""
    workdir = tmp_path_factory.mktemp("probe")
    config = tiny_config(
        "imagenette/160px-v2",
        data_dir=str(shared / "tensorflow_datasets"),
        train_split="train[:640]",
        eval_split="validation[:256]",
        resolution=96,
        batch_size=32,
        epochs=1,
        frozen_epochs=1,
        init_from=str(shared / "models/keras_applications/mobilenet_2_5_224_tf_no_top.h5"),
        label_smoothing=0.0,
    )
    training.train(config, str(workdir))
    return workdir


@pytest.fixture(scope="module")
def int8_report(probe_workdir):
    exported = release.export(str(probe_workdir), representative_samples=64, threads=(1,), benchmark_runs=5)
    return exported.report, exported


def test_int8_agrees_with_keras_on_a_trained_model(int8_report):
    report, job = int8_report
    assert report["keras_top1"] > 0.6  # the model has learnt something worth agreeing on
    assert report["top1_agreement"] >= 0.9
    assert abs(report["tflite_top1"] - report["keras_top1"]) <= 0.05
    saved = json.loads(open(job.report_path).read())
    assert saved == json.loads(json.dumps(report))
    assert {"size_bytes", "mult_adds", "keras_top5", "tflite_top5", "latency_ms"} <= set(saved)
    assert set(saved["latency_ms"]["1"]) == {"median", "p90"}


def test_int8_is_integer_throughout_with_raw_pixel_input(int8_report):
    _, job = int8_report
    interpreter = Interpreter(model_path=job.tflite)
    interpreter.allocate_tensors()
    (image,) = interpreter.get_input_details()
    (scores,) = interpreter.get_output_details()
    assert image["dtype"] == np.uint8 and list(image["shape"]) == [1, 96, 96, 3]
    assert image["quantization"] == (1.0, 0)  # uint8 pixels go in unchanged
    assert scores["dtype"] == np.uint8
    body = [t for t in interpreter.get_tensor_details() if t["index"] not in (image["index"], scores["index"])]
    assert {np.dtype(t["dtype"]).name for t in body} <= {"int8", "int32"}
    assert {np.dtype(t["dtype"]).name for t in body if "conv" in t["name"].lower()} <= {"int8", "int32"}
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "DEQUANTIZE" not in ops and "CONV_2D" in ops and "DEPTHWISE_CONV_2D" in ops


def test_metadata_holds_labels_and_normalisation(int8_report, probe_workdir):
    _, job = int8_report
    info = metadata.read_metadata(open(job.tflite, "rb").read())
    labels = (probe_workdir / "labels.txt").read_text().split()
    assert info["labels"] == labels and len(labels) == 10
    assert (info["input_mean"], info["input_std"]) == (0.0, 1.0)
    assert (probe_workdir / "labels.txt").exists()


def test_tflite_mult_adds_equal_the_keras_cost_model(int8_report, probe_workdir):
    report, job = int8_report
    content = open(job.tflite, "rb").read()
    model = model_lib.load_model(str(probe_workdir / "best.keras"))
    assert latency.mult_adds(content) == model_costs.model_cost(model).mult_adds == report["mult_adds"]


def test_float32_export_equals_keras(probe_workdir, shared):
    model = model_lib.load_model(str(probe_workdir / "best.keras"))
    content = conversion.export(model, "float32", [str(i) for i in range(10)], name="t", description="t")
    classifier = litert.TFLiteClassifier(content)
    assert classifier.input["dtype"] == np.float32
    dataset = datasets.load_dataset("imagenette/160px-v2", str(shared / "tensorflow_datasets"))
    pixels, _ = next(iter(input_pipeline.eval_images(dataset, 96, 16, split="validation[:16]")))
    tflite_scores = np.stack([classifier(image) for image in pixels.numpy()])
    np.testing.assert_allclose(tflite_scores, model.predict_on_batch(pixels), atol=1e-4)


def test_int8_with_float32_input_takes_raw_pixels_and_scores_as_the_uint8_file(int8_report, probe_workdir, shared):
    _, job = int8_report
    model = model_lib.load_model(str(probe_workdir / "best.keras"))
    # The calibration images of int8_report's file: the probe's train split, 64 samples, seed 0.
    dataset = datasets.load_dataset("imagenette/160px-v2", str(shared / "tensorflow_datasets"),
                                          "train[:640]", "validation[:256]")
    calibration = input_pipeline.calibration_images(dataset, 96, 64, seed=0)
    content = conversion.export(model, "int8", [str(i) for i in range(10)], name="t", description="t",
                            calibration_images=calibration.as_numpy_iterator(), input_type="float32")
    float_input = litert.TFLiteClassifier(content)
    assert float_input.input["dtype"] == np.float32
    ops = [op["op_name"] for op in float_input.interpreter._get_ops_details()]
    assert ops[0] == "QUANTIZE" and "DEQUANTIZE" not in ops
    uint8_input = litert.TFLiteClassifier(open(job.tflite, "rb").read())
    pixels, _ = next(iter(input_pipeline.eval_images(dataset, 96, 16, split="validation[:16]")))
    # Same calibration, same quantized body: only the type of the pixels going in differs.
    for image in np.round(pixels.numpy()):  # whole pixel values, which both types hold exactly
        np.testing.assert_allclose(float_input(image), uint8_input(image), atol=1 / 256 + 1e-6)


def test_benchmark_compares_files_interleaved(shared):
    official = shared / OFFICIAL
    contents = {name: (official / f"mobilenet_v1_{name}_quant.tflite").read_bytes() for name in ("0.25_128", "0.5_160")}
    results = latency.compare(contents, threads=(1,), warmup=1, runs=30)
    assert set(results) == set(contents)
    for name, content in contents.items():
        stats = results[name][1]
        assert 0 < stats["min_ms"] <= stats["median_ms"] <= stats["p90_ms"]
        # Each file's rate comes from its own mult-adds: results are not mixed up between files.
        assert stats["g_mult_adds_per_s"] == pytest.approx(latency.mult_adds(content) / stats["median_ms"] / 1e6)


@pytest.mark.parametrize("quantization", ["float16", "dynamic"])
def test_float16_and_dynamic_exports_track_keras(probe_workdir, shared, quantization):
    model = model_lib.load_model(str(probe_workdir / "best.keras"))
    content = conversion.export(model, quantization, [str(i) for i in range(10)], name="t", description="t")
    classifier = litert.TFLiteClassifier(content)
    dataset = datasets.load_dataset("imagenette/160px-v2", str(shared / "tensorflow_datasets"))
    pixels, _ = next(iter(input_pipeline.eval_images(dataset, 96, 16, split="validation[:16]")))
    tflite_scores = np.stack([classifier(image) for image in pixels.numpy()])
    keras_scores = model.predict_on_batch(pixels)
    # Dynamic range quantizes activations on the fly: scores move, the top class rarely.
    assert np.mean(np.abs(tflite_scores - keras_scores)) < 0.02
    assert np.mean(tflite_scores.argmax(1) == keras_scores.argmax(1)) >= 14 / 16


def test_mediapipe_image_classifier_returns_our_class_names(int8_report, probe_workdir, shared):
    vision = pytest.importorskip("mediapipe.tasks.python.vision")  # installed by requirements-test.txt
    import mediapipe
    from mediapipe.tasks.python import BaseOptions

    _, job = int8_report
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=job.tflite), max_results=3)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        result = classifier.classify(mediapipe.Image.create_from_file(str(shared / "images/parrot.jpg")))
    categories = result.classifications[0].categories
    labels = (probe_workdir / "labels.txt").read_text().split()
    assert len(categories) == 3 and all(c.category_name in labels for c in categories)


@pytest.mark.parametrize(
    "model_file,image,expected",
    [("mobilenet_v1_0.5_160_quant.tflite", "parrot.jpg", "macaw"),
     ("mobilenet_v1_0.75_192_quant.tflite", "grace_hopper.bmp", "military uniform")],
)
def test_official_google_models_classify_the_test_photos(shared, model_file, image, expected):
    path = str(shared / OFFICIAL / model_file)
    classifier = litert.TFLiteClassifier(litert.read_tflite(path))
    labels = prediction.load_labels(classifier, path, str(shared / OFFICIAL / "imagenet_labels.txt"))
    (name, score), *_ = prediction.classify_image(classifier, labels, str(shared / "images" / image))
    assert name == expected and score > 0.4


def test_official_model_evaluates_on_imagenette_through_the_cli(shared, tmp_path):
    """A file made elsewhere, 1001 outputs: the matrix covers Imagenette's 10 classes, and
    predictions outside them fall in one more column."""
    result = run_script(
        "-m", "mobilenet", "evaluate", "--tflite", str(shared / OFFICIAL / "mobilenet_v1_0.5_160_quant.tflite"),
        "--dataset", "imagenette/160px-v2", "--data_dir", str(shared / "tensorflow_datasets"),
        "--split", "validation[:200]", "--json", str(tmp_path / "official.json"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    top1 = float(result.stdout.split("top-1 ")[1].split(",")[0])
    assert top1 > 0.4  # 1000-way ImageNet classes; 10-way chance would be 0.001
    results = json.loads((tmp_path / "official.json").read_text())
    matrix = np.array(results["confusion_matrix"])
    assert matrix.shape == (10, 11) and results["columns"][-1] == "(other)" and matrix.sum() == 200
    assert "keras" not in results  # no float model beside a file made elsewhere


def test_label_mapping_finds_background_offset_and_imagenet_classes():
    np.testing.assert_array_equal(evaluation.label_mapping(4, ["a", "b", "c"]), [1, 2, 3])
    np.testing.assert_array_equal(evaluation.label_mapping(3, ["a", "b", "c"]), [0, 1, 2])
    np.testing.assert_array_equal(evaluation.label_mapping(1001, ["n01440764", "n02102040"]), [1, 218])
    with pytest.raises(ValueError, match="give label_offset"):
        evaluation.label_mapping(7, ["a", "b"])
    # A file that names its classes maps by name, and refuses a dataset of other classes.
    np.testing.assert_array_equal(evaluation.label_mapping(3, ["c", "a"], model_labels=["a", "b", "c"]), [2, 0])
    with pytest.raises(ValueError, match=r"classes \(x, y\) are not the model's \(a, b, c\)"):
        evaluation.label_mapping(3, ["x", "y"], model_labels=["a", "b", "c"])


def test_benchmark_cli_reports_statistics(shared):
    result = run_script("-m", "mobilenet", "benchmark", "--tflite", str(shared / OFFICIAL / "mobilenet_v1_0.25_128_quant.tflite"),
                        "--threads", "1", "--runs", "5", "--warmup", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "13.6 M mult-adds" in result.stdout and "median" in result.stdout


def test_int8_only_types_are_refused_for_a_float_file_not_ignored():
    from mobilenet.errors import ParameterError

    with pytest.raises(ParameterError, match=r"^input_type is for quantization int8 only \(a float16 file is"):
        conversion.check_quantization("float16", input_type="float32")
    with pytest.raises(ParameterError, match="^output_type must be uint8 or float32, got 'int8'"):
        conversion.check_quantization("int8", output_type="int8")
    conversion.check_quantization("int8", output_type="float32", input_type="uint8")  # valid
