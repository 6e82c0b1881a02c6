"""Export a trained model and report how accurate and how fast the `.tflite` is.

The release step: a training work directory (or a `.keras` file) in; the `.tflite`,
`labels.txt`, `<name>.report.json` and the model card out, each written under a temporary
name and renamed. `export(...)` is the whole step, and the one thing "export" means here;
export_tflite.py is its command line.

Two targets: "phone" (the default: LiteRT, XNNPACK, MediaPipe) and "micro" (TensorFlow
Lite Micro on a microcontroller: `<name>_int8_micro.tflite`, all int8, with its C++ sources
and `<name>_arena.h` beside it, its flash and arena measured with TFLM's own interpreter,
and its scores in TFLM set against LiteRT's and the Keras model's).
"""

import dataclasses
import json
import os

from mobilenet import files, intervals, names
from mobilenet.converting import c_sources, conversion, micro_conversion
from mobilenet.data import class_names, datasets, folders, input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.exporting import defaults, model_card
from mobilenet.flatbuffer import graph, memory_plan
from mobilenet.measure import evaluation, latency, litert, tflm
from mobilenet.model import complexity, network
from mobilenet.training.run_directory import RunDirectory


@dataclasses.dataclass
class Release:
    """What to export, and how to check it."""

    model_path: str  # a .keras file
    output: str  # the .tflite to write
    dataset: str  # for calibration, evaluation and class names
    data_dir: str = None
    train_split: str = ""  # empty: chosen from the dataset
    validation_fraction: float = folders.VALIDATION_FRACTION  # a PATH/<class>/ folder's: the run's
    eval_split: str = ""
    quantization: str = defaults.QUANTIZATION
    output_type: str = None  # int8 only; None: uint8
    input_type: str = None  # int8 only; None: uint8
    representative_samples: int = defaults.REPRESENTATIVE_SAMPLES
    resolution: int = None  # None: the trained one; another runs the same weights at that size
    evaluate: bool = True
    card: bool = True  # with evaluate: the model card <name>.md and its pictures beside the file
    threads: tuple = latency.THREADS
    benchmark_runs: int = latency.TIMED_RUNS
    seed: int = 0
    target: str = "phone"  # or "micro": TensorFlow Lite Micro, int8 in and out (TARGETS)


TARGETS = ("phone", "micro")
# What "micro" fixes: a file for it is int8 with int8 input and output.
MICRO_FIXES = ("quantization", "input_type", "output_type")


@dataclasses.dataclass
class Exported:
    """What `export` returns: the `.tflite` written and its report (also saved as JSON)."""

    tflite: str
    report: dict

    @property
    def report_path(self):
        return names.report_path(self.tflite)

    @property
    def labels(self):
        return names.labels_path(self.tflite)

    @property
    def card(self):
        """The model card's path (None when the export did not evaluate)."""
        return os.path.join(os.path.dirname(self.tflite), self.report["card"]) if "card" in self.report else None


def export(workdir=None, model=None, dataset=None, **options):
    """Exports a trained model to `.tflite`, then measures its accuracy and latency.

    Args:
      workdir: a training run's directory: exports its best.keras, calibrated and
        evaluated on the dataset and splits it was trained on.
      model: instead of `workdir`, a `.keras` file of this project; needs `dataset`.
      dataset: a TFDS dataset name or "folder:PATH" (default: the run's).
      **options: fields of `Release`: quantization ("int8", "float16", "dynamic",
        "float32"), output_type and input_type (int8 only: "uint8" or "float32"),
        output (the `.tflite` path), resolution (another input size for the same
        weights), representative_samples, evaluate, card (the model card, which needs
        evaluate), threads (thread counts to time; empty for none), data_dir, target
        ("phone", the default, or "micro": a file for TensorFlow Lite Micro, int8 in and
        out, `<name>_int8_micro.tflite` with its C++ sources; it takes no quantization,
        input_type or output_type, and needs the tflite-micro wheel).

    Returns:
      An `Exported`: the `.tflite` path and the report (size, mult-adds, Keras and
      TFLite top-1/top-5 and their agreement, latency by thread count; for "micro",
      flash, arena and TFLM's top-1 against LiteRT's and Keras').
    """
    if workdir and model:
        raise ParameterError("give {workdir} or {model}, not both")
    for name in ("target", "quantization"):  # None: the default
        if options.get(name) is None:
            options.pop(name, None)
    check_target(options.get("target", "phone"), **{name: options.get(name) for name in MICRO_FIXES})
    if workdir:
        release = from_workdir(workdir, dataset=dataset, **options)
    elif model and dataset:
        quantization = options.get("quantization") or defaults.QUANTIZATION
        suffix = "_int8_micro" if options.get("target") == "micro" else f"_{quantization}"
        output = options.pop("output", None) or os.path.splitext(model)[0] + f"{suffix}.tflite"
        release = Release(model_path=model, dataset=dataset, output=output, **options)
    else:
        raise ParameterError("give {workdir} (a training run), or {model} with {dataset}")
    return Exported(release.output, _export(release))


def from_workdir(workdir, **overrides):
    """A Release of `workdir`'s best.keras, with the dataset and splits it was trained on."""
    run = RunDirectory(workdir)
    model_path = run.trained_model()
    if model_path is None:
        raise ParameterError(f"{{workdir}} {workdir} holds no trained model (config.json and best.keras); "
                             "run train.py first")
    config = run.read_config()
    quantization = overrides.get("quantization") or defaults.QUANTIZATION
    resolution = overrides.get("resolution") or config["resolution"]
    if overrides.get("target") == "micro":
        name = names.micro_tflite_name(config["alpha"], resolution)
    else:
        name = names.tflite_name(config["alpha"], resolution, quantization, overrides.get("input_type") == "float32")
    settings = dict(
        model_path=model_path,
        output=os.path.join(workdir, name),
        dataset=config["dataset"],
        data_dir=config["data_dir"] or None,
        train_split=config["train_split"],
        validation_fraction=config.get("validation_fraction", folders.VALIDATION_FRACTION),
        eval_split=config["eval_split"],
        seed=config["seed"],
    )
    settings.update({key: value for key, value in overrides.items() if value is not None})
    return Release(**settings)


def check_target(target, quantization=None, input_type=None, output_type=None):
    """Raises ParameterError for an unknown target, or for "micro" with any of the settings
    it fixes given (a quantization other than int8 included)."""
    if target not in TARGETS:
        raise ParameterError(f"{{target}} must be {' or '.join(TARGETS)}, got {target!r}")
    if target != "micro":
        return
    for parameter, value in (("quantization", quantization), ("input_type", input_type), ("output_type", output_type)):
        if value is not None:
            raise ParameterError(f"{{target}} micro is int8 with int8 input and output: leave out {{{parameter}}} "
                                 f"(got {value})")


def _export(release):
    """Converts, evaluates and benchmarks; returns the report (also saved as report.json)."""
    if release.target == "micro":  # the target and what it fixes were checked by export
        tflm.check_available()  # before anything is written
    conversion.check_quantization(release.quantization, release.output_type, release.input_type)
    litert.check_threads(release.threads)
    if release.quantization == "int8" and release.representative_samples < 1:
        raise ParameterError(f"{{representative_samples}} must be >= 1 for int8, got {release.representative_samples}")
    files.check_writable(release.output, "output")
    output_dir = os.path.dirname(os.path.abspath(release.output))
    model = network.load_model(release.model_path)
    trained_resolution = model.input.shape[1]
    if release.resolution is not None:
        model = network.with_resolution(model, release.resolution)
    dataset = datasets.load_dataset(release.dataset, release.data_dir, release.train_split, release.eval_split,
                                    release.validation_fraction)
    if dataset.num_classes != model.output.shape[-1]:
        raise ParameterError(
            f"{{dataset}} {release.dataset} has {dataset.num_classes} classes but the model "
            f"{release.model_path} has {model.output.shape[-1]} outputs"
        )
    resolution = model.input.shape[1]
    calibration = input_pipeline.calibration_images(dataset, resolution, release.representative_samples, release.seed)
    if release.target == "micro":
        return _export_micro(release, model, dataset, calibration, trained_resolution)
    content = conversion.convert_classifier(
        model,
        release.quantization,
        dataset.class_names,
        name=f"MobileNet V1 {model.name}",
        description=(
            f"MobileNet V1 ({model.name}) trained on {release.dataset}, {release.quantization} TFLite. "
            "Input: RGB pixels 0..255 (the model normalises inside)."
        ),
        calibration_images=calibration.as_numpy_iterator(),
        output_type=release.output_type,
        input_type=release.input_type,
        display_names=class_names.display_names(dataset.class_names),
    )
    files.write_atomically(release.output, content)
    files.write_labels(output_dir, dataset.class_names)

    report = {**_file_report(release, content, model, trained_resolution),
              "fully_delegated": litert.fully_delegated(content)}
    if release.threads:
        report.update(_latency(model, content, release))
    if release.evaluate:
        classifier = litert.TFLiteClassifier(content, num_threads=max(release.threads, default=None))
        results = evaluation.evaluate(classifier, dataset, reference=model.predict_on_batch)
        report.update(results.summary(), evaluation=results.to_json())
    return _write_report(release, content, report, results if release.evaluate else None, dataset)


def _file_report(release, content, model, trained_resolution):
    """What every report says of the file: its name, quantization, size, cost, data and input size."""
    cost = complexity.model_cost(model)
    return {
        "tflite": os.path.basename(release.output),
        "quantization": release.quantization,
        "size_bytes": len(content),
        "mult_adds": cost.mult_adds,
        "params": cost.params,
        "dataset": release.dataset,
        "resolution": int(model.input.shape[1]),
        "trained_resolution": trained_resolution,
    }


def _write_report(release, content, report, results, dataset):
    """Writes the card (when evaluated and asked for) and the report beside the file; returns the report."""
    if results is not None and release.card:
        train_counts = datasets.class_counts(dataset, dataset.train_split)
        report["card"] = os.path.basename(
            model_card.write(release.output, content, report, results, release.model_path, dataset, train_counts))
    files.write_atomically(names.report_path(release.output), json.dumps(report, indent=2) + "\n")
    return report


def _export_micro(release, model, dataset, calibration, trained_resolution):
    """The "micro" target's conversion, C++ sources, TFLM measurements, report and card."""
    output_dir = os.path.dirname(os.path.abspath(release.output))
    content = micro_conversion.convert_for_micro(
        model,
        calibration.as_numpy_iterator(),
        dataset.class_names,
        name=f"MobileNet V1 {model.name}",
        description=(
            f"MobileNet V1 ({model.name}) trained on {release.dataset}, int8 TFLite for TensorFlow Lite Micro. "
            "Input: int8 q = p - 128 for an RGB pixel p in 0..255 (the model normalises inside)."
        ),
    )
    files.write_atomically(release.output, content)
    files.write_labels(output_dir, dataset.class_names)
    sources = c_sources.write_sources(content, release.output, dataset.class_names)
    arena = tflm.smallest_arena(content)
    usage = tflm.arena_usage(content, arena)
    sources.append(c_sources.write_arena_header(release.output, arena, f"The smallest arena that allocates, "
                                                f"{tflm.ARENA_NOTE}."))
    scale, zero_point = graph.input_quantization(content)
    report = {
        **_file_report(release, content, model, trained_resolution),
        "target": "micro",
        "flash_bytes": len(content),
        "flash": graph.flash_breakdown(content),
        "arena_bytes": arena,
        "arena_note": tflm.ARENA_NOTE,
        "arena_head_bytes": usage["head"],
        "arena_persistent_bytes": usage["tail"],
        "planned_head_bytes": memory_plan.check_offline_plan(content),
        "peak_activation_bytes": memory_plan.peak_activation_bytes(content),
        "ops": graph.operator_names(content),
        "input_scale": scale,
        "input_zero_point": zero_point,
        "sources": [os.path.basename(path) for path in sources],
    }
    if release.evaluate:
        micro = _Recording(tflm.TFLMClassifier(content, arena))
        results = evaluation.evaluate(micro, dataset, reference=model.predict_on_batch)
        phone = _Recording(litert.TFLiteClassifier(content, num_threads=max(release.threads, default=None)))
        phone_results = evaluation.evaluate(phone, dataset)
        same = tflm.parity(micro.scores, phone.scores, micro.output_scale)
        report.update(results.summary(), evaluation=results.to_json(), tflm_top1=results.tflite.top1,
                      litert_top1=phone_results.tflite.top1, tflm_litert_same_top1=same["same_top1"],
                      tflm_litert_max_steps=same["max_steps"])
    return _write_report(release, content, report, results if release.evaluate else None, dataset)


class _Recording:
    """A classifier that keeps every score it gives (in the order evaluation asks)."""

    def __init__(self, classifier):
        self.classifier = classifier
        self.scores = []

    def __getattr__(self, name):
        return getattr(self.classifier, name)

    def __call__(self, pixels):
        scores = self.classifier(pixels)
        self.scores.append(scores)
        return scores


def _latency(model, content, release):
    """The file's latency and, beside it, a float32 export's of the same model, timed in turn."""
    contents = {"file": content}
    if release.quantization != "float32":
        contents["float32"] = conversion.convert(model, "float32")
    timings = latency.compare(contents, release.threads, runs=release.benchmark_runs)
    as_report = lambda name: {str(threads): {"median": stats["median_ms"], "p90": stats["p90_ms"]}
                              for threads, stats in timings[name].items()}
    report = {"latency_ms": as_report("file"), "latency_runs": release.benchmark_runs}
    if "float32" in contents:
        report["float32_latency_ms"] = as_report("float32")
    return report


def format_report(report):
    if report.get("target") == "micro":
        return _format_micro_report(report)
    delegated = "every op in XNNPACK" if report["fully_delegated"] else "some ops outside XNNPACK"
    lines = [f"{report['tflite']}: {report['quantization']}, {report['size_bytes'] / 1e6:.2f} MB, "
             f"{report['mult_adds'] / 1e6:.1f} M mult-adds, {delegated}"]
    if report["resolution"] != report["trained_resolution"]:
        lines.append(f"input {report['resolution']} pixels, the model trained at {report['trained_resolution']}: "
                     "the same weights at another size; the accuracy below is what it gives there")
    if "tflite_top1" in report:
        lines.append(
            f"accuracy on {report['dataset']} {report['split']}: "
            f"TFLite top-1 {intervals.describe(report['tflite_top1'], report['examples'])}, top-5 "
            f"{report['tflite_top5']:.4f}; Keras top-1 {report['keras_top1']:.4f} top-5 {report['keras_top5']:.4f}; "
            f"same top-1 class {report['top1_agreement']:.2%}"
        )
    for threads, stats in report.get("latency_ms", {}).items():
        float32 = report.get("float32_latency_ms", {}).get(threads)
        beside = f" (a float32 file: {float32['median']:.3f} ms)" if float32 else ""
        lines.append(f"latency, {threads} thread(s): median {stats['median']:.3f} ms, p90 {stats['p90']:.3f} ms{beside}")
    return "\n".join(lines)


def _format_micro_report(report):
    flash = report["flash"]
    lines = [f"{report['tflite']}: for TensorFlow Lite Micro, int8 in and out, {report['mult_adds'] / 1e6:.1f} M "
             f"mult-adds; ops {', '.join(report['ops'])}",
             f"flash {report['flash_bytes']:,} B (weights {flash['weights']:,}, quantization {flash['quantization']:,}, "
             f"metadata {flash['metadata']:,}, the rest {flash['rest']:,})",
             f"arena {report['arena_bytes']:,} B (activations {report['arena_head_bytes']:,}, planned "
             f"{report['planned_head_bytes']:,}; persistent {report['arena_persistent_bytes']:,}), "
             f"{report['arena_note']}; peak activation {report['peak_activation_bytes']:,} B",
             f"input: int8, scale {report['input_scale']:g}, zero point {report['input_zero_point']}: a pixel p "
             "goes in as p - 128",
             f"C++ sources: {', '.join(report['sources'])}"]
    if "tflm_top1" in report:
        lines.append(
            f"accuracy on {report['dataset']} {report['split']} ({report['examples']} images): TFLM top-1 "
            f"{report['tflm_top1']:.4f}, LiteRT top-1 {report['litert_top1']:.4f}, Keras top-1 "
            f"{report['keras_top1']:.4f}; TFLM and LiteRT give the same top-1 class on "
            f"{report['tflm_litert_same_top1']:.2%}, at most {report['tflm_litert_max_steps']} quantization step(s) apart")
    return "\n".join(lines)
