"""The microcontroller build (`export(..., target="micro")`): a file TensorFlow Lite Micro runs
as LiteRT does, all int8 with static shapes and an offline memory plan, its C++ sources, and
its one-line errors. One export of the tiny run serves the module."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mobilenet.converting import c_sources
from mobilenet.data import datasets, input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.exporting import release
from mobilenet.flatbuffer import graph, graph_surgery, memory_plan, metadata
from mobilenet.measure import litert, tflm

pytest.importorskip("tflite_micro", reason="tflite-micro (pip install '.[micro]') is not installed")

PHONE_BYTES = b"the phone's file, which a micro export must leave alone"


@pytest.fixture(scope="module")
def micro(tiny_run, tmp_path_factory):
    """(the Exported micro build of a copy of the tiny run, its bytes, the phone file's path):
    exported into the copy's work directory, where a phone file already lies."""
    workdir = shutil.copytree(tiny_run[0], tmp_path_factory.mktemp("micro") / "run")
    phone = workdir / "mobilenet_v1_0.25_32_int8.tflite"
    phone.write_bytes(PHONE_BYTES)
    exported = release.export(str(workdir), target="micro", threads=(), representative_samples=8)
    with open(exported.tflite, "rb") as file:
        return exported, file.read(), phone


def eval_pixels(tiny_run):
    dataset = datasets.load_dataset(f"folder:{tiny_run[1]}")
    pixels, _ = next(iter(input_pipeline.eval_images(dataset, 32, 64, split=dataset.test_split, cache=False)))
    return pixels.numpy()


def test_export_writes_its_own_file_beside_the_phone_file_and_leaves_that_alone(micro):
    exported, content, phone = micro
    directory = phone.parent
    assert exported.tflite == str(directory / "mobilenet_v1_0.25_32_int8_micro.tflite")
    assert phone.read_bytes() == PHONE_BYTES
    stem = "mobilenet_v1_0_25_32_int8_micro"
    for name in (f"{stem}_model.cc", f"{stem}_model.h", f"{stem}_ops.h", f"{stem}_arena.h",
                 "mobilenet_v1_0.25_32_int8_micro.report.json", "mobilenet_v1_0.25_32_int8_micro.md"):
        assert (directory / name).is_file(), name
    report = json.loads((directory / "mobilenet_v1_0.25_32_int8_micro.report.json").read_text())
    assert report["target"] == "micro" and report["flash_bytes"] == len(content) == report["flash"]["total"]
    flash = report["flash"]
    assert flash["weights"] + flash["quantization"] + flash["metadata"] + flash["rest"] == flash["total"]
    for key in ("tflm_top1", "litert_top1", "keras_top1", "tflm_litert_same_top1", "tflm_litert_max_steps",
                "arena_bytes", "arena_head_bytes", "arena_persistent_bytes", "planned_head_bytes",
                "peak_activation_bytes"):
        assert key in report, key
    assert "64-bit host" in report["arena_note"]
    assert (report["input_scale"], report["input_zero_point"]) == (1.0, -128)
    # The file carries the phone file's metadata: labels, name, preprocessing.
    info = metadata.read_metadata(content)
    assert info["labels"] == ["blue", "green", "red"] and info["name"].startswith("MobileNet V1")
    assert info["preprocessing"]["resolution"] == 32
    assert "TFLM top-1" in release.format_report(report)


def test_the_file_runs_in_tflm_as_in_litert(micro, tiny_run):
    exported, content, _ = micro
    report = exported.report
    assert report["tflm_litert_same_top1"] >= 0.9 and report["tflm_litert_max_steps"] <= 2
    pixels = eval_pixels(tiny_run)
    inputs = litert.int8_pixels(pixels)
    assert np.array_equal(inputs.astype(np.int16), pixels.astype(np.int16) - 128)  # q = p - 128
    scores = tflm.run(content, inputs, report["arena_bytes"])
    # LiteRT's reference kernels are those TFLM ports: the same scores, to a step.
    reference = litert.TFLiteClassifier(content, reference_kernels=True)
    expected = np.stack([reference(image) for image in pixels]) / reference.output["quantization"][0] - 128
    assert tflm.parity(scores, expected)["max_steps"] <= 1
    classifier = tflm.TFLMClassifier(content, report["arena_bytes"])
    assert classifier.num_outputs == 3 and classifier.resolution == 32 and classifier.labels == ["blue", "green", "red"]
    assert np.allclose(classifier(pixels[0]), (scores[0].astype(np.float32) + 128) / 256)


def test_the_file_is_all_integer_with_static_shapes(micro):
    _, content, _ = micro
    names = graph.operator_names(content)
    assert graph.float_operators(content) == []
    assert not set(names) & {"SHAPE", "STRIDED_SLICE", "PACK", "QUANTIZE", "DEQUANTIZE"}
    model = graph.read_model(content)
    subgraph = model.subgraphs[0]
    assert all(tensor.shapeSignature is None or min(tensor.shapeSignature) >= 0 for tensor in subgraph.tensors)
    for index in (*subgraph.inputs, *subgraph.outputs):
        assert subgraph.tensors[index].type == graph.schema.TensorType.INT8
    assert graph_surgery.misaligned_buffers(content) == []


def test_the_offline_plan_s_head_is_the_largest_input_and_output_pair(micro):
    exported, content, _ = micro
    report = exported.report
    head = memory_plan.check_offline_plan(content)
    assert head == report["planned_head_bytes"] == memory_plan.live_peak_bytes(content)
    peak = memory_plan.peak_activation_bytes(content)
    assert peak == report["peak_activation_bytes"] and peak <= head < peak + 3 * memory_plan.BUFFER_ALIGNMENT
    # TFLM takes the plan: its planned activations are the plan's, no more than its own plan.
    assert report["arena_head_bytes"] >= head
    from tensorflow.lite.tools import flatbuffer_utils

    unplanned = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    unplanned.metadata = [entry for entry in unplanned.metadata
                          if entry.name.decode() != memory_plan.OFFLINE_PLAN_METADATA]
    unplanned = bytes(flatbuffer_utils.convert_object_to_bytearray(unplanned))
    assert memory_plan.read_offline_plan(unplanned) is None
    assert report["arena_head_bytes"] <= tflm.arena_usage(unplanned)["head"]
    # The arena written is the smallest that allocates.
    assert tflm._fits(content, report["arena_bytes"]) and not tflm._fits(content, report["arena_bytes"] - 1)


def test_the_plan_holds_on_a_graph_with_branches():
    """Two branches and a residual add: a tensor lives across both, and none overlaps
    another alive with it."""
    import keras
    from keras import layers

    from mobilenet.converting import micro_conversion

    keras.utils.set_random_seed(0)
    image = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1)(image)
    a = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
    b = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(a)
    c = layers.Conv2D(8, 1, activation="relu6")(layers.Conv2D(16, 1, activation="relu6")(a))
    y = layers.Add()([layers.Add()([a, c]), b])
    y = layers.Softmax()(layers.Dense(3)(layers.GlobalAveragePooling2D()(y)))
    calibration = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
    content = micro_conversion.convert_for_micro(keras.Model(image, y, name="branchy"), calibration)
    head = memory_plan.check_offline_plan(content)
    assert head == memory_plan.live_peak_bytes(content) > memory_plan.peak_activation_bytes(content)
    inputs = litert.int8_pixels(calibration)
    assert tflm.run(content, inputs).shape == (4, 3)


def test_the_resolver_adds_exactly_the_file_s_ops_with_tflm_s_method_names(micro):
    exported, content, _ = micro
    ops = (pathlib.Path(exported.tflite).parent / "mobilenet_v1_0_25_32_int8_micro_ops.h").read_text()
    methods = re.findall(r"resolver\.(\w+)\(\)", ops)
    names = sorted(graph.operator_names(content))
    assert methods == [c_sources.OP_RESOLVER_METHODS[name] for name in names]
    assert f"NumOps = {len(names)};" in ops
    # The pinned table is TFLM's MicroMutableOpResolver's spelling.
    assert c_sources.OP_RESOLVER_METHODS["CONV_2D"] == "AddConv2D"
    assert c_sources.OP_RESOLVER_METHODS["DEPTHWISE_CONV_2D"] == "AddDepthwiseConv2D"
    assert all(c_sources._generated_method(name) == method for name, method in c_sources.OP_RESOLVER_METHODS.items())


STUB_RESOLVER = """#pragma once
typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
namespace tflite {
template <unsigned int tOpCount>
class MicroMutableOpResolver {
 public:
%s  unsigned int count_ = 0;
};
}  // namespace tflite
"""
# Enough of TFLM's MicroInterpreter and schema for the card's snippet to compile against.
STUB_INTERPRETER = """#pragma once
#include <cstddef>
#include <cstdint>
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
struct TfLiteTensor { union { int8_t* int8; } data; };
namespace tflite {
struct Model;
class MicroInterpreter {
 public:
  template <unsigned int tOpCount>
  MicroInterpreter(const Model*, const MicroMutableOpResolver<tOpCount>&, uint8_t*, size_t) {}
  TfLiteStatus AllocateTensors();
  TfLiteStatus Invoke();
  TfLiteTensor* input(size_t);
  TfLiteTensor* output(size_t);
};
}  // namespace tflite
"""
STUB_SCHEMA = """#pragma once
namespace tflite {
struct Model;
inline const Model* GetModel(const void*) { return nullptr; }
}  // namespace tflite
"""


def test_the_c_sources_and_the_card_s_snippet_compile_and_the_array_holds_the_file_s_bytes(micro, tmp_path):
    if shutil.which("g++") is None:  # make test installs it; CI must run this test
        (pytest.fail if os.environ.get("CI") else pytest.skip)("no g++: make test installs it (make compiler)")
    exported, content, _ = micro
    directory = pathlib.Path(exported.tflite).parent
    stem = c_sources.source_stem(exported.tflite)
    stub = tmp_path / "tensorflow" / "lite" / "micro"
    stub.mkdir(parents=True)
    methods = "".join(f"  TfLiteStatus {method}() {{ return ++count_ <= tOpCount ? kTfLiteOk : kTfLiteError; }}\n"
                      for method in sorted(set(c_sources.OP_RESOLVER_METHODS.values())))
    (stub / "micro_mutable_op_resolver.h").write_text(STUB_RESOLVER % methods)
    (stub / "micro_interpreter.h").write_text(STUB_INTERPRETER)
    (tmp_path / "tensorflow" / "lite" / "schema").mkdir()
    (tmp_path / "tensorflow" / "lite" / "schema" / "schema_generated.h").write_text(STUB_SCHEMA)
    snippet = tmp_path / "snippet.cc"  # the card's
    snippet.write_text(pathlib.Path(exported.card).read_text().split("```cpp\n", 1)[1].split("```", 1)[0])
    camel = c_sources.camel_case(stem)
    main = tmp_path / "main.cc"
    main.write_text(f'#include "{stem}_arena.h"\n#include "{stem}_model.h"\n#include "{stem}_ops.h"\n'
                    f"static_assert(k{camel}ArenaBytes == {exported.report['arena_bytes']}u, \"arena\");\n"
                    f"int main() {{\n  {camel}OpResolver resolver;\n"
                    f"  return Register{camel}Ops(resolver) == kTfLiteOk && {stem}_num_labels == 3 ? 0 : 1;\n}}\n")
    flags = ["g++", "-fsyntax-only", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path),
             "-I", str(directory)]
    for source in (directory / f"{stem}_model.cc", main, snippet):
        result = subprocess.run([*flags, str(source)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    text = (directory / f"{stem}_model.cc").read_text()
    array = text.split(f"{stem}_model[] = {{", 1)[1].split("};", 1)[0]
    assert bytes(int(value, 16) for value in re.findall(r"0x([0-9a-f]{2})", array)) == content
    assert f"{stem}_model_len = {len(content)};" in text
    assert re.search(rf"alignas\(16\) const unsigned char {stem}_model\[\]", text)


def test_the_card_says_how_to_run_it_on_a_microcontroller(micro):
    exported, _, _ = micro
    card = pathlib.Path(exported.card).read_text()
    section = card.split("## On a microcontroller", 1)[1].split("\n## ", 1)[0]
    camel = c_sources.camel_case(c_sources.source_stem(exported.tflite))
    for words in ("| Flash |", "| Arena |", "| Ops |", "zero point -128", "q = p - 128", "tflite::MicroInterpreter",
                  f"Register{camel}Ops(resolver)", f"k{camel}ArenaBytes", "Invoke()", "64-bit host"):
        assert words in section, words
    assert "## Latency" not in card and "MediaPipe" not in section


def test_micro_with_a_quantization_or_a_type_is_a_one_line_error(tiny_run, tmp_path):
    for option, value in (("quantization", "float16"), ("input_type", "uint8"), ("output_type", "float32")):
        with pytest.raises(ParameterError) as error:
            release.export(str(tiny_run[0]), target="micro", output=str(tmp_path / "m.tflite"), **{option: value})
        assert error.value.template == (f"{{target}} micro is int8 with int8 input and output: leave out "
                                        f"{{{option}}} (got {value})")
    with pytest.raises(ParameterError, match="target must be phone or micro"):
        release.export(str(tiny_run[0]), target="watch", output=str(tmp_path / "m.tflite"))
    assert list(tmp_path.iterdir()) == []


def test_micro_without_tflite_micro_says_so_in_one_line_and_writes_nothing(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tflite_micro", None)  # import tflite_micro now raises ImportError
    with pytest.raises(ParameterError) as error:
        release.export(str(tiny_run[0]), target="micro", output=str(tmp_path / "m.tflite"), threads=())
    message = error.value.message(lambda parameter: f"--{parameter}")
    assert "\n" not in message and "--target micro needs TensorFlow Lite Micro" in message
    assert "pip install '.[micro]'" in message
    assert list(tmp_path.iterdir()) == []
