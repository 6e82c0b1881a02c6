"""The names of what this project makes, built in one place: run directories, models, exported
files and what goes beside them, and a sweep's outputs.

Imports nothing heavy: the Makefile asks it for the default work directory.
"""

import os

# In a run directory: the model kept (mobilenet.training.recorder.kept_epoch), what export takes.
BEST_MODEL = "best.keras"
LEADER_MODEL = "leader.keras"  # in a run directory: the model of the highest validation top-1 so far
FINAL_MODEL = "final.keras"  # in a run directory: the model after the last epoch
LABELS = "labels.txt"  # class names, one a line: in a run directory and beside every exported file
SPLIT_CSV = "split.csv"  # in a run directory on a folder dataset: every image's split (path, class, split)
# A sweep's outputs, in its --out directory.
SWEEP_CSV, SWEEP_TABLE, SWEEP_SELECTED = "sweep.csv", "sweep.md", "selected.tflite"
SWEEP_PLOTS = {"latency_median_ms": "accuracy_vs_latency.png", "mult_adds_m": "accuracy_vs_multadds.png"}
SWEEP_MODEL = "int8.tflite"  # each model's int8 file, in its run directory inside --out
# With target "micro": the plots against a microcontroller's budgets, and the pick's TFLM file.
SWEEP_MICRO_PLOTS = {"arena_kib": "accuracy_vs_arena.png", "flash_kib": "accuracy_vs_flash.png"}
SWEEP_SELECTED_MICRO = "selected_int8_micro.tflite"


def model_name(alpha, resolution, variant="standard"):
    """`mobilenet_v1_<α>_<ρ>[_<variant>]`: a model's name, its run directory's name and
    the stem of its exported files (Google's published files use the same scheme)."""
    return f"mobilenet_v1_{alpha:.2f}_{resolution}" + ("" if variant == "standard" else f"_{variant}")


def default_workdir(alpha, resolution, variant="standard"):
    return os.path.join("runs", model_name(alpha, resolution, variant))


def tflite_name(alpha, resolution, quantization, float_input=False):
    return f"{model_name(alpha, resolution)}_{quantization}{'_float_input' * float_input}.tflite"


def micro_tflite_name(alpha, resolution):
    """A microcontroller's file (TensorFlow Lite Micro: int8 in and out), never the phone's name."""
    return f"{model_name(alpha, resolution)}_int8_micro.tflite"


def beside(path, suffix):
    """The file beside `path` with its extension replaced by `suffix`: model.tflite and
    ".report.json" give model.report.json."""
    return os.path.splitext(path)[0] + suffix


def report_path(tflite):
    """The export's report: accuracy, latency, size (JSON)."""
    return beside(tflite, ".report.json")


def card_path(tflite):
    """The model card (Markdown) of an exported file."""
    return beside(tflite, ".md")


def picture_path(path, kind):
    """A picture beside `path` (a .tflite, a card, a --json output): kind is confusion,
    mistakes, curves or blocks."""
    return beside(path, f".{kind}.png")


def labels_path(tflite):
    return os.path.join(os.path.dirname(os.path.abspath(tflite)), LABELS)


def sweep_budget(out, epochs):
    """A doubled sweep's directory for the models trained `epochs` epochs, inside its --out."""
    return os.path.join(out, f"epochs_{epochs}")
