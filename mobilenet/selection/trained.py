"""The trained accuracy source: one model of the sweep trained, exported and evaluated here.

Each model trains with the sweep's config in OUT/runs/<name>/ (a finished run is reused, an
interrupted one resumes), is exported to int8 and evaluated with LiteRT on the eval split.
"""

import json
import os

from mobilenet import names
from mobilenet.exporting import release
from mobilenet.measure import latency
from mobilenet.training import loop


def workdir(out, alpha, resolution):
    return os.path.join(out, "runs", names.model_name(alpha, resolution))


def measure_one(config, alpha, resolution, out, threads, native_resolution):
    """(the model's row, its int8 file's bytes): trained (or resumed), exported, evaluated and
    timed alone; `native_resolution` marks a ρ above it as upsampled."""
    directory = workdir(out, alpha, resolution)
    model_config = config.copy_and_resolve_references()
    model_config.alpha, model_config.resolution = alpha, resolution
    # Also for a finished run: it checks the run is this config, and continues it if
    # --epochs grew. A run already at its last epoch returns at once.
    run = loop.train(model_config, directory)

    report_path = names.report_path(os.path.join(directory, names.SWEEP_MODEL))
    best = os.path.join(directory, names.BEST_MODEL)
    if os.path.exists(report_path) and os.path.getmtime(report_path) > os.path.getmtime(best):
        with open(report_path) as file:
            report = json.load(file)
    else:
        report = release.export(directory, output=os.path.join(directory, names.SWEEP_MODEL), threads=(), card=False).report
    with open(os.path.join(directory, report["tflite"]), "rb") as file:
        content = file.read()
    timing = latency.compare_in_fresh_process({"": content}, (threads,))[""][threads]
    row = {
        "alpha": alpha,
        "resolution": resolution,
        "mult_adds_m": report["mult_adds"] / 1e6,
        "params_m": report["params"] / 1e6,
        "int8_size_mb": report["size_bytes"] / 1e6,
        "float_top1": report["keras_top1"],
        "int8_top1": report["tflite_top1"],
        "latency_median_ms": timing["median_ms"],
        "latency_p90_ms": timing["p90_ms"],
        "epochs": len(run.history),
        "upsampled": resolution > native_resolution,
    }
    return row, content
