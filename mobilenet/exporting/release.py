"""Export a trained model and report how accurate and how fast the `.tflite` is.

The release step: a training work directory (or a `.keras` file) in; the `.tflite`,
`labels.txt`, `<name>.report.json` and the model card out, each written under a temporary
name and renamed. `export(...)` is the whole step, and the one thing "export" means here;
export_tflite.py is its command line.
"""

import dataclasses
import json
import os

from mobilenet import files, names
from mobilenet.converting import conversion
from mobilenet.data import datasets, folders, input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.exporting import defaults, model_card
from mobilenet.measure import evaluation, latency, litert
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
        evaluate), threads (thread counts to time; empty for none), data_dir.

    Returns:
      An `Exported`: the `.tflite` path and the report (size, mult-adds, Keras and
      TFLite top-1/top-5 and their agreement, latency by thread count).
    """
    if workdir and model:
        raise ParameterError("give {workdir} or {model}, not both")
    if workdir:
        release = from_workdir(workdir, dataset=dataset, **options)
    elif model and dataset:
        quantization = options.get("quantization") or defaults.QUANTIZATION
        output = options.pop("output", None) or os.path.splitext(model)[0] + f"_{quantization}.tflite"
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


def _export(release):
    """Converts, evaluates and benchmarks; returns the report (also saved as report.json)."""
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
    )
    files.write_atomically(release.output, content)
    files.write_labels(output_dir, dataset.class_names)

    cost = complexity.model_cost(model)
    report = {
        "tflite": os.path.basename(release.output),
        "quantization": release.quantization,
        "size_bytes": len(content),
        "mult_adds": cost.mult_adds,
        "params": cost.params,
        "dataset": release.dataset,
        "resolution": resolution,
        "trained_resolution": trained_resolution,
        "fully_delegated": litert.fully_delegated(content),
    }
    if release.threads:
        report.update(_latency(model, content, release))
    if release.evaluate:
        classifier = litert.TFLiteClassifier(content, num_threads=max(release.threads, default=None))
        results = evaluation.evaluate(classifier, dataset, reference=model.predict_on_batch)
        report.update(results.summary(), evaluation=results.to_json())
        if release.card:
            train_counts = datasets.class_counts(dataset, dataset.train_split)
            report["card"] = os.path.basename(
                model_card.write(release.output, content, report, results, release.model_path, dataset, train_counts))
    files.write_atomically(names.report_path(release.output), json.dumps(report, indent=2) + "\n")
    return report


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
    delegated = "every op in XNNPACK" if report["fully_delegated"] else "some ops outside XNNPACK"
    lines = [f"{report['tflite']}: {report['quantization']}, {report['size_bytes'] / 1e6:.2f} MB, "
             f"{report['mult_adds'] / 1e6:.1f} M mult-adds, {delegated}"]
    if report["resolution"] != report["trained_resolution"]:
        lines.append(f"input {report['resolution']} pixels, the model trained at {report['trained_resolution']}: "
                     "the same weights at another size; the accuracy below is what it gives there")
    if "tflite_top1" in report:
        lines.append(
            f"accuracy on {report['dataset']} {report['split']} ({report['examples']} images): "
            f"TFLite top-1 {report['tflite_top1']:.4f} top-5 {report['tflite_top5']:.4f}; "
            f"Keras top-1 {report['keras_top1']:.4f} top-5 {report['keras_top5']:.4f}; "
            f"same top-1 class {report['top1_agreement']:.2%}"
        )
    for threads, stats in report.get("latency_ms", {}).items():
        float32 = report.get("float32_latency_ms", {}).get(threads)
        beside = f" (a float32 file: {float32['median']:.3f} ms)" if float32 else ""
        lines.append(f"latency, {threads} thread(s): median {stats['median']:.3f} ms, p90 {stats['p90']:.3f} ms{beside}")
    return "\n".join(lines)
