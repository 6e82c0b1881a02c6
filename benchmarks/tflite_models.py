"""The exported files: accuracy, size and latency against keras.applications and Google's.

All latencies are measured in the same run, batch 1, LiteRT with XNNPACK, at 1 and 2
threads. keras.applications' MobileNet(alpha=0.5) at 160 is converted the plain way
(float input and output, int8 inside, calibrated on random pixels: random weights are
fine for timing). The 1x1 convolution is the machine's practical int8 ceiling.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from benchmarks import common
from configs import default
from mobilenet import benchmark, release, training

THREADS = (1, 2)
RUNS = 200
ROUNDS = 3  # files are measured in turn, ROUNDS times; the best median of each counts
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
    workdir = training.default_workdir(config)
    reports = {}
    for quantization in ("int8", "float32"):
        job = release.from_workdir(workdir, quantization=quantization, data_dir=common.DATA_DIR, threads=())
        reports[quantization] = release.run(job)
        reports[quantization]["path"] = job.output
    int8, float32 = reports["int8"], reports["float32"]

    reference = keras.applications.MobileNet(input_shape=(160, 160, 3), alpha=0.5, weights=None)
    files = {
        "ours, int8 (uint8 in/out)": open(int8["path"], "rb").read(),
        "ours, float32": open(float32["path"], "rb").read(),
        "keras.applications 0.5-160, int8 (plain conversion)": plain_conversion(reference, int8=True),
        "keras.applications 0.5-160, float32": plain_conversion(reference, int8=False),
        "Google's mobilenet_v1_0.5_160_quant.tflite": open(OFFICIAL, "rb").read(),
        "int8 1x1 convolution 20x20x256->256": pointwise_convolution(),
    }
    latency = {}
    # Round-robin, so that a passing disturbance of the machine cannot favour one file.
    for _ in range(ROUNDS):
        for name, content in files.items():
            for threads, stats in benchmark.benchmark_in_fresh_process(content, THREADS, runs=RUNS).items():
                best = latency.setdefault(name, {}).get(threads)
                if best is None or stats["median_ms"] < best["median_ms"]:
                    latency[name][threads] = stats

    lines = [
        "## Exported models: accuracy, size, latency",
        "",
        f"The default model ({workdir}), exported by `python export_tflite.py --workdir {workdir}`",
        "(int8, and `--quantization float32`), evaluated on the whole validation split with LiteRT:",
        "",
        "| File | Size | Keras top-1 | TFLite top-1 | TFLite top-5 | Same top-1 as Keras |",
        "|---|---|---|---|---|---|",
    ]
    for quantization, report in reports.items():
        lines.append(f"| {report['tflite']} | {report['size_bytes'] / 1e6:.2f} MB | {report['keras_top1']:.4f} | "
                     f"{report['tflite_top1']:.4f} | {report['tflite_top5']:.4f} | {report['top1_agreement']:.2%} |")
    drop = 100 * (float32["keras_top1"] - int8["tflite_top1"])
    lines += [
        "",
        f"int8 loses **{drop:.2f} points** of top-1 against Keras float (target: within 1.0); "
        f"size ratio int8 / float32 **{int8['size_bytes'] / float32['size_bytes']:.2f}** (about a quarter expected).",
        "",
        f"Latency, batch 1, median (p90) in ms of {RUNS} runs, each file in a fresh process (the best of",
        f"{ROUNDS} rounds over all files),"
        "and G mult-adds/s at the median:",
        "",
        "| File | M mult-adds | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in THREADS)
        + " | " + " | ".join(f"G mult-adds/s, {t}T" for t in THREADS) + " |",
        "|---|---|" + "---|" * (2 * len(THREADS)),
    ]
    for name, content in files.items():
        stats = latency[name]
        lines.append(
            f"| {name} | {benchmark.mult_adds(content) / 1e6:.1f} | "
            + " | ".join(f"{stats[t]['median_ms']:.3f} ({stats[t]['p90_ms']:.3f})" for t in THREADS) + " | "
            + " | ".join(f"{stats[t]['g_mult_adds_per_s']:.0f}" for t in THREADS) + " |"
        )
    ours = latency["ours, int8 (uint8 in/out)"]
    theirs = latency["keras.applications 0.5-160, int8 (plain conversion)"]
    google = latency["Google's mobilenet_v1_0.5_160_quant.tflite"]
    ceiling = latency["int8 1x1 convolution 20x20x256->256"]
    lines += [""]
    for t in THREADS:
        lines.append(
            f"- {t} thread(s): ours / keras.applications int8 = **{ours[t]['median_ms'] / theirs[t]['median_ms']:.2f}x** "
            f"(target <= 1.0); ours / Google's = **{ours[t]['median_ms'] / google[t]['median_ms']:.2f}x** "
            f"(target < 1); ours reaches {ours[t]['g_mult_adds_per_s'] / ceiling[t]['g_mult_adds_per_s']:.0%} "
            "of the 1x1 convolution's mult-adds/s."
        )
    return "\n".join(lines)
