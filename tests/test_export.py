"""The .tflite files: numerically true to Keras, integer where promised, readable by apps."""

import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from mobilenet.data import datasets, input_pipeline
from mobilenet.converting import conversion
from mobilenet.exporting import release
from mobilenet.flatbuffer import graph, metadata
from mobilenet.measure import evaluation, latency, litert, prediction
from mobilenet.model import complexity, network as model_lib
from mobilenet.training import loop as training

from helpers import run_script, tiny_config

OFFICIAL = "models/mobilenet_v1_official"


@pytest.fixture(scope="module")
def probe_workdir(shared, tmp_path_factory):
    """A small trained model: the shared ImageNet α 0.25 backbone with an Imagenette head
    (for the slow tests that need accuracy worth agreeing on)."""
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
def pretrained(shared):
    """MobileNet V1 α 0.25 at 96 pixels with the shared ImageNet backbone and a new 10-class head,
    untrained: features worth comparing Keras and LiteRT on, without training."""
    import keras

    from mobilenet.model import transfer

    keras.utils.set_random_seed(0)  # the new head's weights: the same in every process
    model = model_lib.mobilenet_v1(0.25, 96, num_classes=10)
    transfer.load_backbone_weights(model, str(shared / "models/keras_applications/mobilenet_2_5_224_tf_no_top.h5"),
                                   0.25, 96)
    return model


@pytest.fixture(scope="module")
def imagenette_pixels(shared):
    dataset = datasets.load_dataset("imagenette/160px-v2", str(shared / "tensorflow_datasets"))
    pixels, _ = next(iter(input_pipeline.eval_images(dataset, 96, 16, split="validation[:16]")))
    return pixels.numpy()


@pytest.fixture(scope="module")
def int8_report(tiny_run, tmp_path_factory):
    """The tiny run exported to int8 (evaluated on its folder's validation images)."""
    output = tmp_path_factory.mktemp("int8") / "tiny_int8.tflite"
    exported = release.export(str(tiny_run[0]), output=str(output), representative_samples=16, threads=(1,),
                              benchmark_runs=5, card=False)
    return exported.report, exported


@pytest.mark.slow  # trains
def test_int8_agrees_with_keras_on_a_trained_model(probe_workdir):
    exported = release.export(str(probe_workdir), representative_samples=64, threads=(1,), benchmark_runs=5)
    report, job = exported.report, exported
    assert report["keras_top1"] > 0.6  # the model has learnt something worth agreeing on
    assert report["top1_agreement"] >= 0.9
    assert abs(report["tflite_top1"] - report["keras_top1"]) <= 0.05
    saved = json.loads(open(job.report_path).read())
    assert saved == json.loads(json.dumps(report))
    assert {"size_bytes", "mult_adds", "keras_top5", "tflite_top5", "latency_ms"} <= set(saved)
    assert set(saved["latency_ms"]["1"]) == {"median", "p90"}


def test_int8_computes_in_integers_between_its_uint8_ends(int8_report):
    _, job = int8_report
    interpreter = Interpreter(model_path=job.tflite)
    interpreter.allocate_tensors()
    (image,) = interpreter.get_input_details()
    (scores,) = interpreter.get_output_details()
    assert image["dtype"] == np.uint8 and list(image["shape"]) == [1, 32, 32, 3]
    assert image["quantization"] == (1.0, 0)  # uint8 pixels go in unchanged
    assert scores["dtype"] == np.uint8 and scores["quantization"] == (1 / 256, 0)
    ops = [op for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
    names = [op["op_name"] for op in ops]
    # Float only at the two ends: pixels to int8, and the int8 logits through a float softmax to uint8.
    assert names[:2] == ["DEQUANTIZE", "QUANTIZE"] and names[-3:] == ["DEQUANTIZE", "SOFTMAX", "QUANTIZE"]
    dtype = lambda index: np.dtype(interpreter._get_tensor_details(index, 0)["dtype"]).name
    for op in ops[2:-3]:
        assert {dtype(index) for index in op["outputs"]} == {"int8"}, op["op_name"]
    assert {"CONV_2D", "DEPTHWISE_CONV_2D"} <= set(names[2:-3])


def convert_with_the_converters_own_uint8_ends(model, calibration):
    """The file TensorFlow's converter makes with uint8 in and out, ends unchanged."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([np.asarray(image, np.float32)[None]] for image in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    return converter.convert()


def delegate_partitions(content):
    """The XNNPACK delegate's nodes in LiteRT's interpreter, as (inputs, outputs) tensor sets, with
    the graph's own (inputs, outputs)."""
    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    nodes = [(set(op["inputs"]), set(op["outputs"])) for op in interpreter._get_ops_details() if op["op_name"] == "DELEGATE"]
    ends = ({d["index"] for d in interpreter.get_input_details()}, {d["index"] for d in interpreter.get_output_details()})
    return nodes, ends


@pytest.mark.parametrize("input_type,output_type", [(None, None), ("float32", None), (None, "float32")])
def test_every_op_of_an_int8_file_runs_in_xnnpack(pretrained, input_type, output_type):
    model = pretrained
    calibration = conversion.random_calibration_images(96)
    content = conversion.convert(model, "int8", calibration, output_type, input_type)
    assert litert.fully_delegated(content)
    # The interpreter the evaluation and the latency use agrees: one delegate node, from the
    # graph's input to its output, so no op runs before, after or between.
    partitions, (graph_inputs, graph_outputs) = delegate_partitions(content)
    assert len(partitions) == 1 and graph_inputs <= partitions[0][0] and partitions[0][1] == graph_outputs
    # The check can fail: the converter's own uint8 ends run outside XNNPACK.
    plain = convert_with_the_converters_own_uint8_ends(model, calibration)
    assert not litert.fully_delegated(plain)
    partitions, (graph_inputs, graph_outputs) = delegate_partitions(plain)
    assert not any(graph_inputs <= inputs and outputs == graph_outputs for inputs, outputs in partitions)


def test_metadata_holds_labels_normalisation_and_preprocessing(int8_report, tiny_run):
    _, job = int8_report
    info = metadata.read_metadata(open(job.tflite, "rb").read())
    labels = (tiny_run[0] / "labels.txt").read_text().split()
    assert info["labels"] == labels and len(labels) == 3
    assert (info["input_mean"], info["input_std"]) == (0.0, 1.0)
    assert info["preprocessing"] == {"resolution": 32, "crop_fraction": 0.875, "scale": 1 / 127.5, "offset": -1.0}
    assert open(job.labels).read().split() == labels


def test_tflite_mult_adds_equal_the_keras_cost_model(int8_report, tiny_run):
    report, job = int8_report
    content = open(job.tflite, "rb").read()
    model = model_lib.load_model(str(tiny_run[0] / "best.keras"))
    assert graph.mult_adds(content) == complexity.model_cost(model).mult_adds == report["mult_adds"]


def test_float32_export_equals_keras(pretrained, imagenette_pixels):
    model, pixels = pretrained, imagenette_pixels
    content = conversion.convert_classifier(model, "float32", [str(i) for i in range(10)], name="t", description="t")
    classifier = litert.TFLiteClassifier(content)
    assert classifier.input["dtype"] == np.float32
    tflite_scores = np.stack([classifier(image) for image in pixels])
    np.testing.assert_allclose(tflite_scores, model.predict_on_batch(pixels), atol=1e-4)


def test_int8_with_float32_input_takes_raw_pixels_and_scores_as_the_uint8_file(pretrained, imagenette_pixels):
    calibration = list(imagenette_pixels[:8])
    files = {input_type: conversion.convert(pretrained, "int8", calibration, input_type=input_type)
             for input_type in ("float32", "uint8")}
    float_input, uint8_input = (litert.TFLiteClassifier(files[kind]) for kind in ("float32", "uint8"))
    assert float_input.input["dtype"] == np.float32 and uint8_input.input["dtype"] == np.uint8
    ops = [op["op_name"] for op in float_input.interpreter._get_ops_details()]
    assert ops[0] == "QUANTIZE"
    # Same calibration, same quantized body: a uint8 pixel's DEQUANTIZE gives the float the
    # other file takes, so the scores are the same, bit for bit.
    for image in imagenette_pixels:
        np.testing.assert_array_equal(float_input(image), uint8_input(image))


def test_benchmark_compares_files_interleaved(shared):
    official = shared / OFFICIAL
    contents = {name: (official / f"mobilenet_v1_{name}_quant.tflite").read_bytes() for name in ("0.25_128", "0.5_160")}
    results = latency.compare(contents, threads=(1,), warmup=1, runs=30)
    assert set(results) == set(contents)
    for name, content in contents.items():
        stats = results[name][1]
        assert 0 < stats["min_ms"] <= stats["median_ms"] <= stats["p90_ms"]
        # Each file's rate comes from its own mult-adds: results are not mixed up between files.
        assert stats["g_mult_adds_per_s"] == pytest.approx(graph.mult_adds(content) / stats["median_ms"] / 1e6)


@pytest.mark.parametrize("quantization", ["float16", "dynamic"])
def test_float16_and_dynamic_exports_track_keras(pretrained, imagenette_pixels, quantization):
    model, pixels = pretrained, imagenette_pixels
    content = conversion.convert_classifier(model, quantization, [str(i) for i in range(10)], name="t", description="t")
    classifier = litert.TFLiteClassifier(content)
    tflite_scores = np.stack([classifier(image) for image in pixels])
    keras_scores = model.predict_on_batch(pixels)
    # Dynamic range quantizes activations on the fly: scores move, the top class rarely.
    assert np.mean(np.abs(tflite_scores - keras_scores)) < 0.03
    assert np.mean(tflite_scores.argmax(1) == keras_scores.argmax(1)) >= 14 / 16


def test_mediapipe_image_classifier_runs_the_file_with_our_class_names_and_litert_s_answers(
        int8_report, tiny_run, shared):
    """MediaPipe Tasks' ImageClassifier, as Android runs it, on every image the export evaluated
    (as the evaluation fed them: the central crop at the input size, which MediaPipe then takes
    whole) gives LiteRT's class and score."""
    vision = pytest.importorskip("mediapipe.tasks.python.vision")  # installed by requirements-test.txt
    import mediapipe
    from mediapipe.tasks.python import BaseOptions

    report, job = int8_report
    labels = (tiny_run[0] / "labels.txt").read_text().split()
    dataset = datasets.load_dataset(f"folder:{tiny_run[1]}")
    ours = litert.TFLiteClassifier(open(job.tflite, "rb").read())
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=job.tflite), max_results=1)
    evaluated = 0
    with vision.ImageClassifier.create_from_options(options) as classifier:
        (parrot,) = classifier.classify(mediapipe.Image.create_from_file(str(shared / "images/parrot.jpg"))
                                        ).classifications[0].categories
        assert parrot.category_name in labels
        for pixels, _ in input_pipeline.eval_images(dataset, 32, 32):
            for image in pixels.numpy():
                (theirs,) = classifier.classify(mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB,
                                                                data=image)).classifications[0].categories
                scores = ours(image)
                assert theirs.category_name == labels[scores.argmax()]
                assert theirs.score == pytest.approx(scores.max(), abs=1e-6)
                evaluated += 1
    assert evaluated == report["examples"] == 12


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
    top1 = float(result.stdout.split("top-1 ")[1].split()[0])
    assert "on 200 images" in result.stdout  # the figure says on how many
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


def test_predict_crops_as_the_file_s_preprocessing_says_and_google_s_files_as_mobilenet_does(shared):
    import tensorflow as tf

    google = (shared / OFFICIAL / "mobilenet_v1_0.5_160_quant.tflite").read_bytes()
    labels = (shared / OFFICIAL / "imagenet_labels.txt").read_text().splitlines()
    uncropping = metadata.add_metadata(google, name="g", description="d", labels=labels,
                                       preprocessing={"resolution": 160, "crop_fraction": 1.0})
    ours, theirs = litert.TFLiteClassifier(uncropping), litert.TFLiteClassifier(google)
    assert ours.preprocessing.crop_fraction == 1.0 and theirs.preprocessing.crop_fraction == 0.875
    photo = str(shared / "images" / "parrot.jpg")
    for classifier, fraction in ((ours, 1.0), (theirs, 0.875)):
        pixels = input_pipeline.preprocess_for_eval(tf.io.read_file(photo), 160, crop_fraction=fraction).numpy()
        expected = classifier(pixels)
        (name, score), *_ = prediction.classify_image(classifier, labels, photo, top_k=1)
        assert (name, score) == (labels[expected.argmax()], pytest.approx(float(expected.max())))
    crops = [input_pipeline.preprocess_for_eval(tf.io.read_file(photo), 160, crop_fraction=f).numpy() for f in (1.0, 0.875)]
    assert not np.array_equal(ours(crops[0]), ours(crops[1]))  # the crop shows in the scores
