"""Trains MobileNet V1 on a TensorFlow Datasets dataset or a folder of images.

  python train.py --alpha 0.5 --resolution 160
  python train.py --config configs/imagenet.py --config.batch_size=256
  python train.py --alpha 0.25 --init_from imagenet --config.frozen_epochs=2

The config file's fields can all be set as --config.FIELD=VALUE; the flags below are
shortcuts for the common ones. Rerunning a command resumes it from its last finished
epoch. Outputs go to --workdir (default runs/mobilenet_v1_<alpha>_<resolution>).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

from mobilenet import training
from mobilenet.cli import config_from_flags, define_config_file, flags_parser

define_config_file("train.py", os.path.join(os.path.dirname(__file__), "configs", "default.py"), "Training config file.")
SHORTCUTS = {
    "alpha": (flags.DEFINE_float, "Width multiplier α (0 < α; the paper uses 0.25-1.0)."),
    "resolution": (flags.DEFINE_integer, "Input side ρ in pixels (>= 32; the paper uses 128-224)."),
    "dataset": (flags.DEFINE_string, "TFDS dataset name, or folder:PATH with PATH/<split>/<class>/images."),
    "data_dir": (flags.DEFINE_string, "TFDS data directory (default TFDS_DATA_DIR, else ~/tensorflow_datasets)."),
    "train_split": (flags.DEFINE_string, "TFDS split expression for training (default: chosen from the dataset)."),
    "eval_split": (flags.DEFINE_string, "TFDS split expression for evaluation (default: chosen from the dataset)."),
    "epochs": (flags.DEFINE_integer, "Number of epochs."),
    "batch_size": (flags.DEFINE_integer, "Global batch size."),
    "init_from": (flags.DEFINE_string, "'imagenet', or a .h5/.keras file to take the backbone from."),
    "seed": (flags.DEFINE_integer, "Random seed for weights, shuffling and augmentation."),
}
for name, (define, help_text) in SHORTCUTS.items():
    define(name, None, help_text + " Overrides the config.")
flags.DEFINE_string("workdir", None, "Output directory (default runs/mobilenet_v1_<alpha>_<resolution>).")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        sys.exit(f"train.py: error: unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags(SHORTCUTS)
    workdir = FLAGS.workdir or training.default_workdir(config)
    try:
        history = training.train_and_evaluate(config, workdir)
    except (ValueError, training.TrainingDiverged) as error:
        sys.exit(f"train.py: error: {error}")
    if history:
        last = history[-1]
        print(f"Trained {workdir}: epoch {last['epoch']}, validation top-1 {last.get('val_top1', float('nan')):.4f}, "
              f"best {max(row.get('val_top1', 0) for row in history):.4f}")


if __name__ == "__main__":
    app.run(main, flags_parser=flags_parser("train.py"))
