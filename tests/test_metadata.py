"""add_metadata writes TFLite image-classifier metadata that read_metadata reads back,
and the model still runs the same; bad input is refused with ValueError."""

import io
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import schema_py_generated as tfl
from ai_edge_litert.interpreter import Interpreter

from mobilenet.flatbuffer.metadata import add_metadata, read_metadata, read_preprocessing

LABELS = ["cat", "dog", "parrot"]


def tiny_classifier_tflite(input_type, output_type):
    """A 3-class full-integer-quantised .tflite with a [1, 32, 32, 3] RGB input."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Rescaling(1 / 127.5, -1),
            keras.layers.Conv2D(4, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(LABELS), activation="softmax"),
        ]
    )

    def representative_dataset():
        rng = np.random.default_rng(0)
        for _ in range(4):
            yield [rng.uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = input_type
    converter.inference_output_type = output_type
    return converter.convert()


@pytest.fixture(
    scope="module",
    params=[(tf.uint8, tf.uint8), (tf.uint8, tf.float32), (tf.float32, tf.float32)],
    ids=["uint8", "uint8_in_float32_out", "float32"],
)
def tflite_model(request):
    return tiny_classifier_tflite(*request.param)


def run(model, pixels):
    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    image = interpreter.get_input_details()[0]
    interpreter.set_tensor(image["index"], pixels.astype(image["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def metadata_entries(model):
    parsed = tfl.Model.GetRootAs(model, 0)
    return [parsed.Metadata(i) for i in range(parsed.MetadataLength())]


def test_round_trip(tflite_model):
    model = add_metadata(
        tflite_model,
        name="MobileNet V1",
        description="Tiny test classifier.",
        labels=LABELS,
        version="1.2",
        author="tests",
        license="Apache-2.0",
    )
    assert read_metadata(model) == {
        "name": "MobileNet V1",
        "description": "Tiny test classifier.",
        "version": "1.2",
        "author": "tests",
        "license": "Apache-2.0",
        "min_parser_version": "1.0.0",
        "input_mean": 0.0,
        "input_std": 1.0,
        "labels": LABELS,
        "display_names": [],
        "associated_files": ["labels.txt"],
        "preprocessing": None,
    }


def test_the_model_s_preprocessing_travels_in_an_entry_of_its_own(tflite_model):
    """TFLite metadata has no crop: our entry carries it, and adding again replaces it."""
    first = add_metadata(tflite_model, name="n", description="d", labels=LABELS,
                         preprocessing={"resolution": 8, "crop_fraction": 0.875})
    again = add_metadata(first, name="n", description="d", labels=LABELS, preprocessing={"crop_fraction": 1.0})
    assert read_metadata(first)["preprocessing"] == {"resolution": 8, "crop_fraction": 0.875}
    assert read_preprocessing(again) == {"crop_fraction": 1.0}
    names = [entry.Name().decode() for entry in metadata_entries(again)]
    assert names.count("mobilenet_preprocessing") == names.count("TFLITE_METADATA") == 1


def test_file_layout(tflite_model):
    model = add_metadata(tflite_model, name="n", description="d", labels=LABELS)
    assert model[4:8] == b"TFL3"
    (entry,) = [e for e in metadata_entries(model) if e.Name() == b"TFLITE_METADATA"]
    metadata = tfl.Model.GetRootAs(model, 0).Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    assert metadata[4:8] == b"M001"
    # The labels are an uncompressed zip appended to the flatbuffer: MediaPipe reads
    # them in place, at offsets counted from the start of the file.
    with zipfile.ZipFile(io.BytesIO(model)) as archive:
        (info,) = archive.infolist()
        assert info.filename == "labels.txt"
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info) == b"cat\ndog\nparrot\n"
        assert model[info.header_offset : info.header_offset + 4] == b"PK\x03\x04"


def test_model_still_runs_the_same(tflite_model):
    pixels = np.random.default_rng(1).integers(0, 256, (1, 32, 32, 3))
    model = add_metadata(tflite_model, name="n", description="d", labels=LABELS)
    np.testing.assert_array_equal(run(model, pixels), run(tflite_model, pixels))


def test_adding_again_replaces_metadata(tflite_model):
    first = add_metadata(tflite_model, name="first", description="d", labels=LABELS)
    second = add_metadata(
        first,
        name="second",
        description="d",
        labels=["a", "b", "c"],
        input_mean=127.5,
        input_std=127.5,
    )
    metadata = read_metadata(second)
    assert (metadata["name"], metadata["labels"]) == ("second", ["a", "b", "c"])
    assert (metadata["input_mean"], metadata["input_std"]) == (127.5, 127.5)
    assert metadata["associated_files"] == ["labels.txt"]
    assert [e.Name() for e in metadata_entries(second)].count(b"TFLITE_METADATA") == 1


@pytest.mark.parametrize(
    "model", [b"", b"not a model at all", b"PK\x03\x04" + bytes(64)], ids=["empty", "text", "zip"]
)
def test_refuses_bytes_that_are_not_tflite(model):
    with pytest.raises(ValueError, match="TFL3"):
        add_metadata(model, name="n", description="d", labels=LABELS)
    with pytest.raises(ValueError, match="TFL3"):
        read_metadata(model)


@pytest.mark.parametrize(
    "labels, message",
    [([], "must not be empty"), (["a", "b"], "2 labels"), (["a", "b\nc", "d"], "line breaks")],
)
def test_refuses_bad_labels(tflite_model, labels, message):
    with pytest.raises(ValueError, match=message):
        add_metadata(tflite_model, name="n", description="d", labels=labels)


def test_read_refuses_model_without_metadata(tflite_model):
    with pytest.raises(ValueError, match="no TFLITE_METADATA"):
        read_metadata(tflite_model)


def test_readable_names_travel_as_display_names_that_mediapipe_returns(tflite_model):
    """WordNet ids stay the labels; their names go in a second labels file with locale "en",
    which MediaPipe's ImageClassifier returns as display_name."""
    vision = pytest.importorskip("mediapipe.tasks.python.vision")
    import mediapipe
    from mediapipe.tasks.python import BaseOptions

    ids, readable = ["n02979186", "n03000684", "n03028079"], ["cassette player", "chain saw", "church"]
    model = add_metadata(tflite_model, name="n", description="d", labels=ids, display_names=readable)
    info = read_metadata(model)
    assert (info["labels"], info["display_names"]) == (ids, readable)
    assert info["associated_files"] == ["labels.txt", "labels_en.txt"]
    assert read_metadata(add_metadata(tflite_model, name="n", description="d", labels=ids))["display_names"] == []
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_buffer=model), max_results=3)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        categories = classifier.classify(mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=pixels)
                                         ).classifications[0].categories
    assert {(category.category_name, category.display_name) for category in categories} == set(zip(ids, readable))
