"""The default model's card (docs/model_card/), and where its int8 latency goes, by block.

Exports the default run's int8 file as `make tflite` does (card included), copies the
card and its pictures into docs/model_card/ as the example the README links, times the
file by block (mobilenet.exporting.comparison.block_latency) and compares our whole-file timing with LiteRT's
own `litert-benchmark`.
"""

import glob
import os
import shutil

from benchmarks import common
from mobilenet import figures, names
from mobilenet.configs import default
from mobilenet.exporting import comparison, release
from mobilenet.measure import layer_latency

THREADS = (1, 2)
RUNS = 300
CARD_DIRECTORY = os.path.join(common.DOCS, "model_card")


def run():
    config = default.get_config()
    workdir = names.default_workdir(config.alpha, config.resolution)
    exported = release.export(workdir, data_dir=common.DATA_DIR, threads=THREADS)
    os.makedirs(CARD_DIRECTORY, exist_ok=True)
    stem = os.path.splitext(exported.tflite)[0]
    for path in [exported.card, *glob.glob(f"{glob.escape(stem)}.*.png")]:
        shutil.copyfile(path, os.path.join(CARD_DIRECTORY, os.path.basename(path)))
    rows, ours = comparison.block_latency(exported.tflite, threads=THREADS, runs=RUNS)
    chart = os.path.join(CARD_DIRECTORY, os.path.basename(stem) + ".blocks.png")
    figures.block_latency(rows, chart, os.path.basename(exported.tflite))
    theirs = layer_latency.litert_benchmark(exported.tflite, THREADS, RUNS)
    card = os.path.join(CARD_DIRECTORY, os.path.basename(exported.card))
    lines = [
        "## The default model's card, and its latency by block",
        "",
        f"[{card}]({os.path.relpath(card, common.DOCS)}) is the card `make tflite` writes beside "
        f"{exported.tflite} (copied here with its pictures).",
        "",
        f"Latency by block of that file (`python -m mobilenet benchmark --tflite {exported.tflite} --per_layer`), "
        f"median of {RUNS} runs of each prefix:",
        "",
        "```",
        layer_latency.format_rows(rows, ours),
        "```",
        "",
        f"![Latency and mult-adds by block]({os.path.relpath(chart, common.DOCS)})",
    ]
    if theirs:
        lines += ["", "The whole file, our timing against LiteRT's own `litert-benchmark` (median; it reports "
                      "two decimals): " + "; ".join(
                          f"{t} thread(s) ours {ours[t]:.3f} ms, litert-benchmark {theirs[t]:.2f} ms "
                          f"({theirs[t] / ours[t]:.2f}x)" for t in THREADS) + "."]
    return "\n".join(lines)
