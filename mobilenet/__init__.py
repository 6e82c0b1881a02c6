"""MobileNet V1 (Howard et al. 2017): train, export to TFLite, evaluate and measure.

The Python API, what a notebook calls (the README's "Python API" shows it in use):

  config = mobilenet.get_config("default", alpha=0.25, dataset="folder:/data/pets")
  run = mobilenet.train(config, "runs/pets")               # resumable; .history, .best_model
  exported = mobilenet.export(run.workdir)                  # int8 .tflite; .tflite, .report
  mobilenet.evaluate_tflite(exported.tflite, "folder:/data/pets")
  mobilenet.measure_latency(exported.tflite, threads=(1, 2))
  mobilenet.classify(exported.tflite, ["photo.jpg"])
  mobilenet.run_sweep(config, [0.25, 0.5], [128, 160], "runs/sweep", latency_budget_ms=2)
  model = mobilenet.load_model(run.best_model)              # a saved model, in any script (Keras safe mode)
  model = mobilenet.mobilenet_v1(alpha=0.5, resolution=160, num_classes=10)
  mobilenet.model_cost(model).mult_adds

Errors in arguments raise `mobilenet.ParameterError`, whose message names the parameter.
Importing the package loads nothing heavy and changes no environment variable:
TensorFlow loads with the first call, so a program may configure it first.
"""

import importlib

# name -> the module that defines it.
_API = {
    "get_config": "mobilenet.configs",
    "train": "mobilenet.training.loop",
    "TrainingRun": "mobilenet.training.loop",
    "export": "mobilenet.exporting.release",
    "Exported": "mobilenet.exporting.release",
    "evaluate_tflite": "mobilenet.exporting.comparison",
    "measure_latency": "mobilenet.measure.latency",
    "classify": "mobilenet.measure.prediction",
    "run_sweep": "mobilenet.selection.sweep_runner",
    "mobilenet_v1": "mobilenet.model.network",
    "load_model": "mobilenet.model.network",
    "model_cost": "mobilenet.model.complexity",
    "Error": "mobilenet.errors",
    "ParameterError": "mobilenet.errors",
    "TrainingDiverged": "mobilenet.errors",
    "TrainingInterrupted": "mobilenet.errors",
    "StorageError": "mobilenet.errors",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'mobilenet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))
