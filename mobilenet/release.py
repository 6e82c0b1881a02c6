"""Export a trained model and report how accurate and how fast the `.tflite` is.

The last stage: a training work directory (or a `.keras` file) in; the `.tflite`,
`labels.txt` and `report.json` out, each written under a temporary name and renamed.
"""

import dataclasses
import json
import os

from mobilenet import benchmark, costs, evaluate, export, files, input_pipeline
from mobilenet import model as model_lib


@dataclasses.dataclass
class Release:
    """What to export, and how to check it."""

    model_path: str  # a .keras file
    output: str  # the .tflite to write
    dataset: str  # for calibration, evaluation and class names
    data_dir: str = None
    train_split: str = ""  # empty: chosen from the dataset
    eval_split: str = ""
    quantization: str = "int8"
    output_type: str = "uint8"
    input_type: str = "uint8"
    representative_samples: int = 300
    resolution: int = None  # None: the trained one; another runs the same weights at that size
    evaluate: bool = True
    threads: tuple = (1, 2)
    benchmark_runs: int = 200
    seed: int = 0


def from_workdir(workdir, **overrides):
    """A Release of `workdir`'s best.keras, with the dataset and splits it was trained on."""
    config_path = os.path.join(workdir, "config.json")
    model_path = os.path.join(workdir, "best.keras")
    if not os.path.isfile(config_path) or not os.path.isfile(model_path):
        raise ValueError(f"--workdir {workdir} holds no trained model (config.json and best.keras); run train.py first")
    with open(config_path) as file:
        config = json.load(file)
    quantization = overrides.get("quantization", "int8")
    resolution = overrides.get("resolution") or config["resolution"]
    float_input = quantization == "int8" and overrides.get("input_type") == "float32"
    name = f"mobilenet_v1_{config['alpha']:.2f}_{resolution}_{quantization}{'_float_input' * float_input}.tflite"
    settings = dict(
        model_path=model_path,
        output=os.path.join(workdir, name),
        dataset=config["dataset"],
        data_dir=config["data_dir"] or None,
        train_split=config["train_split"],
        eval_split=config["eval_split"],
        seed=config["seed"],
    )
    settings.update({key: value for key, value in overrides.items() if value is not None})
    return Release(**settings)


def run(release):
    """Exports, evaluates and benchmarks; returns the report (also saved as report.json)."""
    if release.quantization not in export.QUANTIZATIONS:
        raise ValueError(f"--quantization must be one of {', '.join(export.QUANTIZATIONS)}, got {release.quantization!r}")
    if release.quantization == "int8" and release.representative_samples < 1:
        raise ValueError(f"--representative_samples must be >= 1 for int8, got {release.representative_samples}")
    output_dir = os.path.dirname(os.path.abspath(release.output))
    if not os.path.isdir(output_dir) or not os.access(output_dir, os.W_OK):
        raise ValueError(f"--output {release.output}: directory {output_dir} does not exist or cannot be written")
    model = model_lib.load_model(release.model_path)
    trained_resolution = model.input.shape[1]
    if release.resolution is not None:
        try:
            model = model_lib.with_resolution(model, release.resolution)
        except ValueError as error:
            raise ValueError(f"--resolution: {error}") from None
    dataset = input_pipeline.load_dataset(release.dataset, release.data_dir, release.train_split, release.eval_split)
    if dataset.num_classes != model.output.shape[-1]:
        raise ValueError(
            f"--dataset {release.dataset} has {dataset.num_classes} classes but the model "
            f"{release.model_path} has {model.output.shape[-1]} outputs"
        )
    resolution = model.input.shape[1]
    calibration = input_pipeline.calibration_images(dataset, resolution, release.representative_samples, release.seed)
    content = export.export(
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
    files.write_atomically(os.path.join(output_dir, "labels.txt"), "".join(f"{n}\n" for n in dataset.class_names))

    cost = costs.model_cost(model)
    report = {
        "tflite": os.path.basename(release.output),
        "quantization": release.quantization,
        "size_bytes": len(content),
        "mult_adds": cost.mult_adds,
        "params": cost.params,
        "dataset": release.dataset,
        "resolution": resolution,
        "trained_resolution": trained_resolution,
    }
    if release.evaluate:
        classifier = evaluate.TFLiteClassifier(content, num_threads=max(release.threads, default=None))
        report.update(evaluate.evaluate(classifier, dataset, keras_model=model))
    if release.threads:
        latency = benchmark.benchmark(content, release.threads, runs=release.benchmark_runs)
        report["latency_ms"] = {
            str(threads): {"median": stats["median_ms"], "p90": stats["p90_ms"]} for threads, stats in latency.items()
        }
    report_path = os.path.splitext(release.output)[0] + ".report.json"
    files.write_atomically(report_path, json.dumps(report, indent=2) + "\n")
    return report


def format_report(report):
    lines = [f"{report['tflite']}: {report['quantization']}, {report['size_bytes'] / 1e6:.2f} MB, "
             f"{report['mult_adds'] / 1e6:.1f} M mult-adds"]
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
        lines.append(f"latency, {threads} thread(s): median {stats['median']:.3f} ms, p90 {stats['p90']:.3f} ms")
    return "\n".join(lines)
