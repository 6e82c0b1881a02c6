"""The exported files: accuracy, size and latency against keras.applications and Google's.

All latencies are measured in one process, batch 1, LiteRT with XNNPACK, at 1 and 2
threads, the files timed interleaved (blocks of runs in turn) so that a noisy neighbour
slows them all alike. keras.applications' MobileNet(alpha=0.5) at 160 is converted the plain way
(float input and output, int8 inside, calibrated on random pixels: random weights are
fine for timing). The 1x1 convolution is the machine's practical int8 ceiling.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from benchmarks import common
from mobilenet import names
from mobilenet.configs import default
from mobilenet.exporting import release
from mobilenet.measure import latency as latency_lib

THREADS = (1, 2)
RUNS = 1000
OFFICIAL = os.path.join("..", "shared", "models", "mobilenet_v1_official", "mobilenet_v1_0.5_160_quant.tflite")


def plain_conversion(model, int8):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        shape = (1, *model.input.shape[1:])
        rng = np.random.default_rng(0)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(50))
    return converter.convert()


def pointwise_convolution():
    """An int8 1x1 convolution, 20x20x256 -> 256 (26 M mult-adds), alone in a model."""
    inputs = keras.Input((20, 20, 256), batch_size=1)
    return plain_conversion(keras.Model(inputs, keras.layers.Conv2D(256, 1, use_bias=False)(inputs)), int8=True)


def run():
    config = default.get_config()
    workdir = names.default_workdir(config.alpha, config.resolution)
    reports = {}
    for name, options in {"int8": {}, "int8, float32 input": {"input_type": "float32"},
                          "float32": {"quantization": "float32"}}.items():
        exported = release.export(workdir, data_dir=common.DATA_DIR, threads=(), **options)
        reports[name] = dict(exported.report, path=exported.tflite)
    int8, float32 = reports["int8"], reports["float32"]

    reference = keras.applications.MobileNet(input_shape=(160, 160, 3), alpha=0.5, weights=None)
    files = {
        "ours, int8 (uint8 in/out)": open(int8["path"], "rb").read(),
        "ours, int8 (float32 in, `--input_type float32`)": open(reports["int8, float32 input"]["path"], "rb").read(),
        "ours, float32": open(float32["path"], "rb").read(),
        "keras.applications 0.5-160, int8 (plain conversion)": plain_conversion(reference, int8=True),
        "keras.applications 0.5-160, float32": plain_conversion(reference, int8=False),
        "Google's mobilenet_v1_0.5_160_quant.tflite": open(OFFICIAL, "rb").read(),
        "int8 1x1 convolution 20x20x256->256": pointwise_convolution(),
    }
    latency = latency_lib.compare_in_fresh_process(files, THREADS, runs=RUNS)

    lines = [
        "## Exported models: accuracy, size, latency",
        "",
        f"The default model ({workdir}), exported by `python export_tflite.py --workdir {workdir}`",
        "(int8; `--input_type float32`; `--quantization float32`), evaluated on the whole validation split with LiteRT:",
        "",
        "| File | Size | Keras top-1 | TFLite top-1 | TFLite top-5 | Same top-1 as Keras |",
        "|---|---|---|---|---|---|",
    ]
    for report in reports.values():
        lines.append(f"| {report['tflite']} | {report['size_bytes'] / 1e6:.2f} MB | {report['keras_top1']:.4f} | "
                     f"{report['tflite_top1']:.4f} | {report['tflite_top5']:.4f} | {report['top1_agreement']:.2%} |")
    drop = 100 * (float32["keras_top1"] - int8["tflite_top1"])
    lines += [
        "",
        f"int8 loses **{drop:.2f} points** of top-1 against Keras float (target: within 1.0); "
        f"size ratio int8 / float32 **{int8['size_bytes'] / float32['size_bytes']:.2f}** (about a quarter expected).",
        "",
        f"Latency, batch 1, median (p90) in ms of {RUNS} runs of each file, the files timed in turn in blocks of",
        f"{latency_lib.BLOCK} runs in one fresh process, and G mult-adds/s at the median:",
        "",
        "| File | M mult-adds | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in THREADS)
        + " | " + " | ".join(f"G mult-adds/s, {t}T" for t in THREADS) + " |",
        "|---|---|" + "---|" * (2 * len(THREADS)),
    ]
    for name, content in files.items():
        stats = latency[name]
        lines.append(
            f"| {name} | {latency_lib.mult_adds(content) / 1e6:.1f} | "
            + " | ".join(f"{stats[t]['median_ms']:.3f} ({stats[t]['p90_ms']:.3f})" for t in THREADS) + " | "
            + " | ".join(f"{stats[t]['g_mult_adds_per_s']:.0f}" for t in THREADS) + " |"
        )
    ours = latency["ours, int8 (uint8 in/out)"]
    float_input = latency["ours, int8 (float32 in, `--input_type float32`)"]
    theirs = latency["keras.applications 0.5-160, int8 (plain conversion)"]
    google = latency["Google's mobilenet_v1_0.5_160_quant.tflite"]
    ceiling = latency["int8 1x1 convolution 20x20x256->256"]
    lines += [""]
    for t in THREADS:
        lines.append(
            f"- {t} thread(s): ours / keras.applications int8 = **{ours[t]['median_ms'] / theirs[t]['median_ms']:.2f}x** "
            f"with uint8 input, **{float_input[t]['median_ms'] / theirs[t]['median_ms']:.2f}x** with float32 input "
            f"like theirs (target <= 1.0); ours / Google's = **{ours[t]['median_ms'] / google[t]['median_ms']:.2f}x** "
            f"(target < 1); ours reaches {ours[t]['g_mult_adds_per_s'] / ceiling[t]['g_mult_adds_per_s']:.0%} "
            "of the 1x1 convolution's mult-adds/s."
        )
    lines += [
        "",
        "The two int8 files of ours differ only in their first op: QUANTIZE from uint8 or from float32 to int8. "
        "LiteRT's XNNPACK delegate takes the float32 one but not the uint8 one, which runs in TFLite's own "
        f"kernel, single-threaded: here it costs "
        + " and ".join(f"{ours[t]['median_ms'] - float_input[t]['median_ms']:.3f} ms at {t}T" for t in THREADS) + ".",
    ]
    return "\n".join(lines)
