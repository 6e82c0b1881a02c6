"""The trained accuracy source: one model of the sweep trained, exported and evaluated here.

Each model trains with the sweep's config in OUT/runs/<name>/ (a finished run is reused, an
interrupted one resumes), is exported to int8 and evaluated with LiteRT on the eval split.
With `micro`, it is also exported for TensorFlow Lite Micro (`<name>_int8_micro.tflite` and
its C++ sources beside it), and its flash and arena measured with TFLM; that file is not
evaluated here (TFLM's reference kernels would take long on the larger models: its top-1 is
what `export_tflite.py --target micro` measures).
"""

import json
import os

from mobilenet import names
from mobilenet.errors import ParameterError
from mobilenet.exporting import release
from mobilenet.measure import latency
from mobilenet.training import loop


def workdir(out, alpha, resolution):
    return os.path.join(out, "runs", names.model_name(alpha, resolution))


def _report(tflite, best):
    """The export report of `tflite`, if it was written after the model `best` (else None)."""
    report_path = names.report_path(tflite)
    if os.path.exists(report_path) and os.path.getmtime(report_path) > os.path.getmtime(best):
        with open(report_path) as file:
            return json.load(file)
    return None


def micro_tflite(out, alpha, resolution):
    return os.path.join(workdir(out, alpha, resolution), names.micro_tflite_name(alpha, resolution))


def measure_one(config, alpha, resolution, out, threads, native_resolution, micro=False):
    """(the model's row, its int8 file's bytes): trained (or resumed), exported, evaluated and
    timed alone; `native_resolution` marks a ρ above it as upsampled. With `micro`, also
    exported for TFLM (unevaluated), its flash_kib and arena_kib in the row."""
    directory = workdir(out, alpha, resolution)
    model_config = config.copy_and_resolve_references()
    model_config.alpha, model_config.resolution = alpha, resolution
    # Also for a finished run: it checks the run is this config, and continues it if
    # --epochs grew. A run already at its last epoch returns at once.
    run = loop.train(model_config, directory)

    best = os.path.join(directory, names.BEST_MODEL)
    report = _report(os.path.join(directory, names.SWEEP_MODEL), best)
    if report is None:
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
    if micro:
        micro_report = _report(micro_tflite(out, alpha, resolution), best)
        if micro_report is None:
            try:
                micro_report = release.export(directory, target="micro", threads=(), card=False, evaluate=False).report
            except ParameterError as error:  # its model's softmax has no range: too little training
                raise ParameterError(f"{{target}} micro, alpha {alpha:g}, resolution {resolution}: "
                                     + error.template.replace("{model}", "model")) from None
        row.update(flash_kib=micro_report["flash_bytes"] / 1024, arena_kib=micro_report["arena_bytes"] / 1024)
    return row, content
