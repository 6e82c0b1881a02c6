"""Choose the right-sized model: train, export and measure MobileNet V1 over α × ρ.

  python -m mobilenet sweep --alphas 0.25,0.5,0.75,1.0 --resolutions 128,160,192,224 \
      --dataset imagenette/160px-v2 --epochs 2 --out runs/sweep --latency_budget_ms 2

  python -m mobilenet sweep --grid paper --epochs 3 --doubled --out runs/paper   # the paper's tables, 3 and 6 epochs (make sweep)
  python -m mobilenet sweep --accuracy_source published --latency_budget_ms 5   # ImageNet top-1 x this machine

  # Which MobileNet fits a chip with 256 KiB of RAM and 1 MiB of flash, for 10 classes (no training):
  python -m mobilenet sweep --accuracy_source published --target micro --num_classes 10 \
      --ram_budget_kb 256 --flash_budget_kb 1024 --out runs/chip

Writes sweep.csv, sweep.md, two plots (four with --target micro: against arena and flash)
and (with a budget, trained) selected.tflite into --out; rerun the same command to resume.
"""

import os

from absl import flags

from mobilenet.commands import cli
from mobilenet.errors import ParameterError

SHORTCUTS = ("dataset", "data_dir", "epochs")
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs", "sweep.py")


def define_flags(flag_values, argv):
    define = dict(flag_values=flag_values)
    cli.define_config_file(flag_values, argv, DEFAULT_CONFIG, "Training config of every model.")
    flags.DEFINE_list("alphas", ["0.25", "0.5", "0.75", "1.0"], "Width multipliers α, comma-separated.", **define)
    flags.DEFINE_list("resolutions", None, "Input sides ρ, comma-separated (default: the full grid 128,160,192,224; "
                      "the paper grid those of 96,128,160,192,224 at or below the data's own resolution).", **define)
    flags.DEFINE_string("dataset", None, "TFDS dataset name, or folder:PATH. Overrides the config.", **define)
    flags.DEFINE_string("data_dir", None, "TFDS data directory. Overrides the config.", **define)
    flags.DEFINE_integer("epochs", None, "Epochs per model. Overrides the config.", **define)
    flags.DEFINE_string("out", os.path.join("runs", "sweep"), "Output directory.", **define)
    flags.DEFINE_float("latency_budget_ms", None, "Select the most accurate model with a median latency within this.",
                       **define)
    flags.DEFINE_integer("threads", 1, "Interpreter threads for the latency.", **define)
    flags.DEFINE_string("grid", "full", "full (every alpha x resolution) or paper (alpha at resolution 128, "
                        "resolution at alpha 0.5: the paper's Tables 6 and 7).", **define)
    flags.DEFINE_string("accuracy_source", "trained", "trained (train each model here) or published (TF-Slim's "
                        "ImageNet top-1, no training; the latency is still measured here).", **define)
    flags.DEFINE_string("target", "phone", "phone, or micro: also build every model for TensorFlow Lite Micro and "
                        "measure its flash and arena (pip install '.[micro]').", **define)
    flags.DEFINE_float("ram_budget_kb", None, "With --target micro: select the most accurate model whose TFLM arena "
                       "(KiB, 1024 bytes) is within this.", **define)
    flags.DEFINE_float("flash_budget_kb", None, "With --target micro: select the most accurate model whose TFLM file "
                       "(KiB, 1024 bytes) is within this.", **define)
    flags.DEFINE_integer("num_classes", None, "With --accuracy_source published: the classes the models are built "
                         "with, which size their classifier and flash (default 1000, ImageNet's).", **define)
    flags.DEFINE_bool("doubled", False, "Also train every model from scratch for twice --epochs, and say whether the "
                      "ranking and the Pareto front hold.", **define)


def main(flag_values, arguments):
    from mobilenet.selection import sweep_runner

    if arguments:
        raise ParameterError(f"unexpected arguments: {' '.join(arguments)}")
    sweep_runner.run_sweep(
        cli.config_from_flags(flag_values, SHORTCUTS),
        cli.parse_list(flag_values.alphas, "--alphas", float, "numbers > 0"),
        cli.parse_list(flag_values.resolutions, "--resolutions", int, "integers >= 32") if flag_values.resolutions
        else None,
        flag_values.out,
        flag_values.threads,
        flag_values.latency_budget_ms,
        flag_values.grid,
        flag_values.accuracy_source,
        flag_values.doubled,
        flag_values.target,
        flag_values.ram_budget_kb,
        flag_values.flash_budget_kb,
        flag_values.num_classes,
    )


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv, flag_name=_flag_name)


def _flag_name(parameter):
    from mobilenet.configs import sweep

    # A model's run directory is inside --out.
    return cli.config_flag_name(SHORTCUTS, sweep.get_config(), other={"workdir": "--out"})(parameter)
