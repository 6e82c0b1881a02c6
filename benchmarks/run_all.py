"""`make bench`: runs the benchmark sections and writes docs/BENCHMARKS.md.

  python -m benchmarks.run_all                      # every section
  python -m benchmarks.run_all tflite               # only these; the others stay as they were

Sections: training throughput (with the GPU table of benchmarks/gpu_training.py), the
training recipe's ablation (one knob at a time), accuracy (the default run, the fine-tuning
run and the small-folder run), fine-tuning when the backbone unfreezes, knowledge
distillation into small students, the exported models' accuracy, size and latency, the
default model's card with its latency by block, the web page's latency against LiteRT
Python's, and small models built for a microcontroller (TensorFlow Lite Micro). Every
training run is reused (or resumed) from runs/ by a later call; from nothing the whole takes
several hours on a 2-core CPU (each section's table gives its time per epoch). Each section
is stamped with the day and machine it ran on, and the file is rewritten after each one, so a
long run cut short keeps what it measured.
"""

import datetime
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import (ablation, accuracy, common, distillation, example_card, few_photos, fine_tuning,
                        finetune_epochs, micro, tflite_models, training_speed, web_latency)
from mobilenet import files

SECTIONS = {"training_speed": training_speed, "ablation": ablation, "accuracy": accuracy, "fine_tuning": fine_tuning,
            "few_photos": few_photos, "finetune_epochs": finetune_epochs,
            "distillation": distillation, "tflite": tflite_models, "example_card": example_card, "web": web_latency,
            "microcontroller": micro}
PATH = os.path.join(common.DOCS, "BENCHMARKS.md")
# Each section in the file starts with this marker, so that a later run can replace it alone.
MARKER = "<!-- section: {} -->"


def read_sections(path):
    """{section name: its text} of an existing BENCHMARKS.md ({} if there is none)."""
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        parts = re.split(r"^<!-- section: (\w+) -->\n", file.read(), flags=re.MULTILINE)
    return {name: text.strip() for name, text in zip(parts[1::2], parts[2::2]) if name in SECTIONS}


def main(names):
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        sys.exit(f"benchmarks.run_all: error: unknown section {unknown[0]!r}; the sections are {', '.join(SECTIONS)}")
    os.makedirs(common.DOCS, exist_ok=True)
    sections = read_sections(PATH) if names else {}
    header = ["# Benchmarks", "", "Made by `make bench` (`python -m benchmarks.run_all [SECTION ...]`); each section "
              "says when and on what it ran.", ""]
    for name in names or list(SECTIONS):
        print(f"== benchmark: {name}", flush=True)
        heading, _, body = SECTIONS[name].run().partition("\n")
        sections[name] = f"{heading}\n\nMeasured on {datetime.date.today()}: {common.machine()}.\n{body}".strip()
        print(sections[name], flush=True)
        marked = [f"{MARKER.format(section)}\n{sections[section]}\n" for section in SECTIONS if section in sections]
        files.write_atomically(PATH, "\n".join(header + marked))


if __name__ == "__main__":
    main(sys.argv[1:])
