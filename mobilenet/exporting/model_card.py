"""The model card: one Markdown file beside each exported `.tflite` saying what was shipped.

What the model is, the data it learnt from, how it was trained, how accurate the file is
against the Keras float model (overall and per class, with the confusion matrix and the
most confident mistakes), how fast it runs beside a float32 file, how to run it with
MediaPipe (Python) and on Android, and where it fails. A microcontroller's file (the
"micro" target) gets "On a microcontroller" instead of latency and how to run it: its
flash, arena, ops, how a camera's pixel becomes its input, and a C++ snippet for
TensorFlow Lite Micro. `write(...)` writes `<name>.md` and its pictures
`<name>.{confusion,mistakes,curves}.png`.
"""

import datetime
import json
import os

import numpy as np

from mobilenet import figures, files, intervals, machine, names
from mobilenet.converting import c_sources
from mobilenet.data import class_balance, class_names
from mobilenet.flatbuffer import metadata
from mobilenet.measure import class_metrics, litert
from mobilenet.training import recorder
from mobilenet.training.run_directory import RunDirectory

IMBALANCE_WARNING = 3.0  # largest class over smallest
MEDIAPIPE_SNIPPET = '''import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision
from PIL import Image, ImageOps

options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path="{tflite}"), max_results=5)
# RGB first: MediaPipe reads a grayscale JPEG as one channel, which the classifier refuses
# ("TfLiteTensor and Tensor sizes do not match"). ImageNet and Imagenette hold such JPEGs.
# Upright, as a viewer shows it: a phone's sideways photo carries its turn in EXIF.
pixels = np.asarray(ImageOps.exif_transpose(Image.open("photo.jpg")).convert("RGB"))
with vision.ImageClassifier.create_from_options(options) as classifier:
    result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
for category in result.classifications[0].categories:
    print(category.display_name or category.category_name, round(category.score, 3))
'''
KOTLIN_SNIPPET = '''// build.gradle.kts: implementation("com.google.mediapipe:tasks-vision:0.10.21")
// the file in app/src/main/assets/
val options = ImageClassifier.ImageClassifierOptions.builder()
    .setBaseOptions(BaseOptions.builder().setModelAssetPath("{tflite}").build())
    .setMaxResults(5)
    .build()
val classifier = ImageClassifier.createFromOptions(context, options)
val result = classifier.classify(BitmapImageBuilder(bitmap).build())  // an ARGB_8888 Bitmap
for (category in result.classificationResult().classifications()[0].categories()) {{
    Log.i("classifier", "${{category.displayName().ifEmpty {{ category.categoryName() }}}} ${{category.score()}}")
}}
'''

MICRO_SNIPPET = '''#include <cstdint>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "{stem}_arena.h"
#include "{stem}_model.h"
#include "{stem}_ops.h"

alignas(16) static uint8_t tensor_arena[k{camel}ArenaBytes];

// `frame`: the camera's RGB pixels, {resolution}x{resolution}x3 uint8, cropped and resized as above.
// Returns the top class (an index into {stem}_labels), or -1.
int Classify(const uint8_t* frame) {{
  static {camel}OpResolver resolver;
  static const bool registered = Register{camel}Ops(resolver) == kTfLiteOk;
  static tflite::MicroInterpreter interpreter(tflite::GetModel({stem}_model), resolver, tensor_arena,
                                              sizeof(tensor_arena));
  static const bool allocated = registered && interpreter.AllocateTensors() == kTfLiteOk;
  if (!allocated) return -1;
  int8_t* input = interpreter.input(0)->data.int8;
  for (int i = 0; i < {values}; ++i) input[i] = static_cast<int8_t>(frame[i] ^ 0x80);  // q = p - 128
  if (interpreter.Invoke() != kTfLiteOk) return -1;
  const int8_t* scores = interpreter.output(0)->data.int8;  // probability (q + 128) / 256
  int best = 0;
  for (int i = 1; i < {stem}_num_labels; ++i) {{
    if (scores[i] > scores[best]) best = i;
  }}
  return best;
}}
'''


def write(tflite, content, report, results, model_path, dataset, train_counts):
    """Writes the card of the `.tflite` at `tflite` and its pictures; returns the card's path.

    Args:
      content: the file's bytes.
      report: the export's report (costs, size, latency of the file and of float32).
      results: the evaluation.Evaluation of the file (and the float model) on the eval split.
      model_path: the `.keras` file exported; its run directory, if any, gives the config
        and the training curves.
      dataset: the mobilenet.data.datasets.Dataset evaluated on.
      train_counts: images per class in the training split.
    """
    name = os.path.basename(tflite)
    run = RunDirectory(os.path.dirname(os.path.abspath(model_path)))
    config = run.read_config()
    history = run.read_history()
    readable = class_names.readable(results.columns)
    pictures = {
        "confusion": figures.confusion_matrix(results.tflite.confusion_matrix, readable[: len(results.class_names)],
                                              readable, names.picture_path(tflite, "confusion"), f"{name} on {report['dataset']}"),
        "mistakes": figures.mistakes(results.mistakes, names.picture_path(tflite, "mistakes"), dict(zip(results.columns, readable))),
        "curves": figures.training_curves(history, names.picture_path(tflite, "curves"), name) if history else None,
    }
    pictures = {key: os.path.basename(path) for key, path in pictures.items() if path}
    sections = [
        f"# {name}",
        "",
        f"Model card made by `export_tflite.py` (mobilenet.exporting.release) on {datetime.date.today()}. Every figure "
        "below was measured for this file by that export.",
        *_model_section(content, report, config),
        *_data_section(report, results, train_counts, readable),
        *_training_section(config, history, pictures, train_counts),
        *_accuracy_section(results, readable, pictures),
        *(_micro_section(tflite, report, litert.TFLiteClassifier(content)) if _is_micro(report) else
          [*_latency_section(report), *_how_to_run_section(name, litert.TFLiteClassifier(content).preprocessing)]),
        *_limits_section(report, results, readable, config),
    ]
    path = names.card_path(tflite)
    files.write_atomically(path, "\n".join(sections) + "\n")
    return path


def _model_section(content, report, config):
    classifier = litert.TFLiteClassifier(content)
    try:
        info = metadata.read_metadata(content)
    except ValueError:
        info = {}
    alpha = f"α {config['alpha']:g}, " if config else ""
    variant = config.get("variant", "standard") if config else "standard"
    return [
        "", "## The model", "",
        "| | |", "|---|---|",
        f"| Network | MobileNet V1 (Howard et al. 2017, arXiv:1704.04861), {alpha}ρ {report['resolution']} px, "
        f"{variant} variant{_resized(report)} |",
        f"| Cost | {report['mult_adds'] / 1e6:.1f} M mult-adds, {report['params']:,} weights |",
        f"| File | {report['size_bytes'] / 1e6:.2f} MB, {report['quantization']} |",
        f"| Runtime | {_delegation(report)} |",
        f"| Input | {_tensor(classifier.input)} |",
        f"| Output | {_tensor(classifier.output)} |",
        f"| Metadata | name \"{info.get('name', '')}\"; input normalisation mean {info.get('input_mean', '-')}, std "
        f"{info.get('input_std', '-')} (raw pixels: the model normalises inside); "
        f"{len(info.get('labels') or [])} labels ({', '.join(info.get('associated_files', [])) or 'none'}) |",
    ]


def _is_micro(report):
    return report.get("target") == "micro"


def _delegation(report):
    if _is_micro(report):
        return ("TensorFlow Lite Micro on a microcontroller (measured here in TFLM's Python interpreter, its "
                "reference kernels); LiteRT runs it too")
    if report["fully_delegated"]:
        return "every op runs in LiteRT's XNNPACK delegate, the CPU kernels of Android and the browser"
    return ("some ops run outside LiteRT's XNNPACK delegate, in TFLite's single-threaded reference kernels "
            "(LiteRT's CompiledModel.is_fully_accelerated says so)")


def _resized(report):
    if report["resolution"] == report["trained_resolution"]:
        return ""
    return f" (trained at {report['trained_resolution']} px, the same weights run at {report['resolution']})"


def _tensor(detail):
    scale, zero_point = detail["quantization"]
    quantized = f", scale {scale:.6g}, zero point {zero_point}" if scale else ""
    return f"{np.dtype(detail['dtype']).name} {[int(side) for side in detail['shape']]}{quantized}"


def _data_section(report, results, train_counts, readable):
    eval_counts = results.tflite.confusion_matrix.sum(axis=1)
    lines = ["", "## The data", "",
             f"{report['dataset']}: {sum(train_counts):,} training images, {results.examples:,} evaluation images "
             f"(split `{results.split}`), {len(results.class_names)} classes.", "",
             "| Class | Training images | Evaluation images |", "|---|---|---|"]
    lines += [f"| {name} | {train:,} | {int(evaluated):,} |"
              for name, train, evaluated in zip(readable, train_counts, eval_counts)]
    ratio = class_balance.imbalance(train_counts)
    if ratio > IMBALANCE_WARNING:
        lines += ["", f"**Warning: the classes are imbalanced, {ratio:.1f}:1 between the largest and the smallest "
                      "in training.** A model favours the large classes; `--config.class_weight=balanced` weights "
                      "the loss against it."]
    return lines


def _training_section(config, history, pictures, train_counts):
    if not config:
        return ["", "## Training", "", "Not from a training run of this project: no config or history to show."]
    weights = ("balanced: " + ", ".join(f"{weight:.2f}" for weight in class_balance.balanced_weights(train_counts).values())
               if config.get("class_weight") == "balanced" else "none (every image alike)")
    lines = ["", "## Training", "",
             f"{len(history)} of {config['epochs']} epochs of batch {config['batch_size']}, {config['optimizer']} "
             f"at learning rate {config['learning_rate']:g} ({config['lr_schedule']}), label smoothing "
             f"{config['label_smoothing']:g}, dropout {config['dropout_rate']:g}, crops of at least "
             f"{100 * config['crop_area_min']:.0f} % of the image; "
             + (f"backbone from {config['init_from']} ({config['frozen_epochs']} epochs frozen)"
                if config.get("init_from") else "from scratch") + f"; class weights {weights}."]
    kept = recorder.kept_epoch(history)
    if kept is not None:
        row = next(row for row in history if row["epoch"] == kept)
        lines += ["", f"The model exported (best.keras) is epoch {kept}'s: {recorder.validation_line(row)} (the "
                      "last epoch's, unless an earlier one beat its 95 % interval); "
                      f"{np.median([row['seconds'] for row in history]):.0f} s an epoch."]
    if "curves" in pictures:
        lines += ["", f"![Training curves]({pictures['curves']})"]
    lines += ["", "<details><summary>The whole config (config.json)</summary>", "", "```json",
              json.dumps(config, indent=2, sort_keys=True), "```", "</details>"]
    return lines


def _accuracy_section(results, readable, pictures):
    file, float_model = results.tflite, results.keras
    small = results.examples < intervals.SMALL
    lines = ["", "## Accuracy", "", f"On {results.examples:,} evaluation images (split `{results.split}`)"
             + (": few, so each top-1 and recall comes with its 95 % (Wilson) interval, where the true figure "
                "lies 19 times out of 20:" if small else ":"), "",
             "| | Top-1 | Top-5 | Macro precision | Macro recall | Macro F1 |", "|---|---|---|---|---|---|"]
    for label, report in (("Keras float model", float_model), ("this file", file)):
        if report is not None:
            lines.append(f"| {label} | {_share(report.top1, results.examples)} | {report.top5:.4f} | "
                         f"{report.macro['precision']:.4f} | {report.macro['recall']:.4f} | {report.macro['f1']:.4f} |")
    if float_model is not None:
        lines += ["", f"The file and the float model give the same top-1 class on {results.top1_agreement:.2%} of "
                      "the images."]
    lines += ["", "Per class (precision, recall, F1; the file's recall with its 95 % interval):", ""]
    if float_model is not None:
        lines += ["| Class | Support | Float P / R / F1 | File P / R / F1 | File recall | Recall change |",
                  "|---|---|---|---|---|---|"]
        for name, ours, theirs in zip(readable, file.per_class, float_model.per_class):
            lines.append(f"| {name} | {ours['support']} | {_prf(theirs)} | {_prf(ours)} | {_recall(ours)} | "
                         f"{100 * (ours['recall'] - theirs['recall']):+.1f} points |")
    else:
        lines += ["| Class | Support | P / R / F1 | Recall |", "|---|---|---|---|"]
        lines += [f"| {name} | {row['support']} | {_prf(row)} | {_recall(row)} |"
                  for name, row in zip(readable, file.per_class)]
    if "confusion" in pictures:
        lines += ["", f"![Confusion matrix of the file: counts and shares of each true class]({pictures['confusion']})"]
    names = dict(zip(results.columns, readable))
    confusions = class_metrics.top_confusions(file.confusion_matrix, results.class_names, 10)
    lines += ["", "The most frequent confusions of the file:", "", "| True | Predicted | Images |", "|---|---|---|"]
    lines += [f"| {names[true]} | {names[predicted]} | {count} |" for true, predicted, count in confusions]
    if "mistakes" in pictures:
        lines += ["", "Its most confident mistakes (as the model saw them: the central crop at its input size):", "",
                  f"![The file's most confident mistakes]({pictures['mistakes']})"]
    return lines


def _share(value, count):
    """A top-1 and, on fewer than intervals.SMALL images, its 95 % interval."""
    if count >= intervals.SMALL:
        return f"{value:.4f}"
    low, high = intervals.wilson(value, count)
    return f"{value:.4f} ({low:.2f}-{high:.2f})"


def _recall(row):
    low, high = intervals.wilson(row["recall"], row["support"])
    return f"{row['recall']:.3f} ({low:.2f}-{high:.2f})"


def _prf(row):
    return f"{row['precision']:.3f} / {row['recall']:.3f} / {row['f1']:.3f}"


def _latency_section(report):
    timings = report.get("latency_ms")
    if not timings:
        return ["", "## Latency", "", "Not measured (exported with no thread counts)."]
    float32 = report.get("float32_latency_ms", {})
    lines = ["", "## Latency", "",
             f"Batch 1, LiteRT with XNNPACK (the CPU kernels of Android), median of {report['latency_runs']} runs "
             f"after warm-up, this file and a float32 export of the same model timed in turn, on {machine.describe()}:",
             "", "| Threads | This file, median (p90) | float32 file, median (p90) | This file / float32 |",
             "|---|---|---|---|"]
    for threads, stats in timings.items():
        other = float32.get(threads)
        lines.append(f"| {threads} | {stats['median']:.3f} ms ({stats['p90']:.3f}) | "
                     + (f"{other['median']:.3f} ms ({other['p90']:.3f}) | {stats['median'] / other['median']:.2f}x |"
                        if other else "(this file is float32) | 1.00x |"))
    lines += ["", "These are x86 timings: they do not predict a phone's, where other kernels (ARM NEON, dot-product "
                  "instructions) and other memory run. Time the file on the device itself (LiteRT's "
                  "`benchmark_model`, or the app)."]
    return lines


def _how_to_run_section(name, preprocessing):
    return ["", "## How to run it", "",
            "Python, with MediaPipe Tasks (`pip install mediapipe`), the file and a `photo.jpg` in the current "
            "directory (the file's metadata gives the class names and the normalisation):", "",
            "```python", MEDIAPIPE_SNIPPET.format(tflite=name).rstrip(), "```", "",
            "Android (Kotlin), with the same MediaPipe Tasks `ImageClassifier`:", "",
            "```kotlin", KOTLIN_SNIPPET.format(tflite=name).rstrip(), "```", "",
            "Or `python -m mobilenet predict --tflite FILE photo.jpg` here, and `python -m mobilenet web --tflite FILE` "
            f"in a browser. Apps should feed it as the evaluation did (the file's metadata says so too): "
            f"{preprocessing.describe()}."]


def _limits_section(report, results, readable, config):
    worst = sorted(zip(readable, results.tflite.per_class), key=lambda pair: pair[1]["recall"])[:3]
    lines = ["", "## Limits", "",
             f"- It knows only these {len(results.class_names)} classes: any other picture is still given one of "
             "them, often with a high score. It has no \"none of these\".",
             "- Its weakest classes here (recall): " + ", ".join(f"{name} {row['recall']:.3f}" for name, row in worst)
             + ". Their pictures are the likeliest to be misclassified.",
             f"- The figures are on `{results.split}` of {report['dataset']}: pictures unlike those (other cameras, "
             "lighting, framing, more than one object) will score lower."]
    if results.keras is not None:
        change = results.tflite.top1 - results.keras.top1
        lines.append(f"- Quantization changed top-1 by {100 * change:+.2f} points against the float model; the per-"
                     "class table shows where.")
    if config is None:
        lines.append("- It was not trained by this project: its training data and recipe are unknown here.")
    if _is_micro(report):
        lines.append("- The arena above was measured on a 64-bit host: a 32-bit microcontroller needs less. Kernels "
                     "optimised for a chip (CMSIS-NN, ...) may round differently from the reference kernels measured "
                     "here.")
    else:
        lines.append("- The latency above is this x86 machine's, not a phone's.")
    return lines


def _micro_section(tflite, report, classifier):
    """"On a microcontroller": flash, arena, ops, the input, and a C++ snippet."""
    stem = c_sources.source_stem(tflite)
    camel = c_sources.camel_case(stem)
    flash = report["flash"]
    resolution = report["resolution"]
    lines = ["", "## On a microcontroller", "",
             f"For TensorFlow Lite Micro (TFLM): all int8, batch 1, static shapes, an offline memory plan. Beside the "
             f"file: `{stem}_model.cc` / `.h` (the file as a 16-byte aligned C array, and the labels), `{stem}_ops.h` "
             f"(a resolver with exactly its ops) and `{stem}_arena.h` (the arena below).", "",
             "| | |", "|---|---|",
             f"| Flash | {report['flash_bytes']:,} B: weights {flash['weights']:,}, quantization parameters "
             f"{flash['quantization']:,}, metadata and labels {flash['metadata']:,}, the rest (graph, names) "
             f"{flash['rest']:,} |",
             f"| Arena | {report['arena_bytes']:,} B, the smallest in which TFLM allocates and runs it: activations "
             f"{report['arena_head_bytes']:,} B (the offline plan's {report['planned_head_bytes']:,} B; the largest "
             f"input plus output of one op {report['peak_activation_bytes']:,} B), persistent "
             f"{report['arena_persistent_bytes']:,} B. {report['arena_note'][:1].upper()}{report['arena_note'][1:]}. |",
             f"| Ops | {', '.join(report['ops'])} |",
             f"| Input | {_tensor(classifier.input)} |",
             f"| Output | {_tensor(classifier.output)}: probability (q + 128) / 256 |"]
    if "tflm_top1" in report:
        lines.append(f"| Accuracy | top-1 TFLM {report['tflm_top1']:.4f}, LiteRT {report['litert_top1']:.4f}, Keras "
                     f"{report['keras_top1']:.4f}; TFLM and LiteRT give the same top-1 class on "
                     f"{report['tflm_litert_same_top1']:.2%} of the images, at most {report['tflm_litert_max_steps']} "
                     "quantization step(s) apart |")
    lines += ["", f"How a camera's frame becomes the input: {classifier.preprocessing.describe()}; then each uint8 "
                  f"RGB value p goes in as the int8 q = p - 128 (input scale {report['input_scale']:g}, zero point "
                  f"{report['input_zero_point']}: q stands for p itself), in C `(int8_t)(p ^ 0x80)`.", "",
              "```cpp", MICRO_SNIPPET.format(stem=stem, camel=camel, resolution=resolution,
                                              values=resolution * resolution * 3).rstrip(), "```"]
    return lines
