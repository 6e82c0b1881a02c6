"""Trains MobileNet V1 on a TensorFlow Datasets dataset or a folder of images.

  python train.py --alpha 0.5 --resolution 160
  python train.py --config configs/imagenet.py --config.batch_size=256
  python train.py --alpha 0.25 --init_from imagenet --config.frozen_epochs=2

The config file's fields can all be set as --config.FIELD=VALUE; the flags below are
shortcuts for the common ones. Rerunning a command resumes it from its last checkpoint
(after a finished epoch, or within one when SIGTERM or Ctrl-C stopped it). Outputs go to
--workdir (default runs/mobilenet_v1_<alpha>_<resolution>).
"""

import os

from absl import flags

from mobilenet.commands import cli
from mobilenet.errors import ParameterError

DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs", "default.py")
SHORTCUTS = {
    "alpha": (flags.DEFINE_float, "Width multiplier α (0 < α; the paper uses 0.25-1.0)."),
    "resolution": (flags.DEFINE_integer, "Input side ρ in pixels (>= 32; the paper uses 128-224)."),
    "dataset": (flags.DEFINE_string, "TFDS dataset name, or folder:PATH with PATH/<class>/<image> (split here) "
                "or PATH/<split>/<class>/<image>."),
    "data_dir": (flags.DEFINE_string, "TFDS data directory (default TFDS_DATA_DIR, else ~/tensorflow_datasets)."),
    "train_split": (flags.DEFINE_string, "TFDS split expression for training (default: chosen from the dataset)."),
    "eval_split": (flags.DEFINE_string, "TFDS split expression for evaluation (default: chosen from the dataset)."),
    "epochs": (flags.DEFINE_integer, "Number of epochs."),
    "batch_size": (flags.DEFINE_integer, "Global batch size."),
    "init_from": (flags.DEFINE_string, "'imagenet', or a .h5/.keras file to take the backbone from."),
    "seed": (flags.DEFINE_integer, "Random seed for weights, shuffling and augmentation."),
}


def define_flags(flag_values, argv):
    cli.define_config_file(flag_values, argv, DEFAULT_CONFIG, "Training config file.")
    for name, (define, help_text) in SHORTCUTS.items():
        define(name, None, help_text + " Overrides the config.", flag_values=flag_values)
    flags.DEFINE_string("workdir", None, "Output directory (default runs/mobilenet_v1_<alpha>_<resolution>).",
                        flag_values=flag_values)


def main(flag_values, arguments):
    from mobilenet.training import loop, recorder  # after the environment is set up: it loads TensorFlow

    if arguments:
        raise ParameterError(f"unexpected arguments: {' '.join(arguments)}")
    run = loop.train(cli.config_from_flags(flag_values, SHORTCUTS), flag_values.workdir)
    if run.history:
        last = run.history[-1]
        validated = recorder.validation_line(last) if "val_top1" in last else "no validation"
        print(f"Trained {run.workdir}: epoch {last['epoch']}, {validated}; best.keras holds epoch {run.kept}'s model")


def run(argv=None):
    cli.run_command(__doc__, define_flags, main, argv, flag_name=_flag_name)


def _flag_name(parameter):
    from mobilenet.configs import default

    return cli.config_flag_name(SHORTCUTS, default.get_config())(parameter)
