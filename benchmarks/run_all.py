"""`make bench`: runs every benchmark section and writes docs/BENCHMARKS.md.

Sections: training throughput, accuracy (trains or resumes the default run and the
fine-tuning run: about an hour on a 2-core CPU from nothing, seconds when both are
finished), and the exported models' accuracy, size and latency.
"""

import datetime
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks import accuracy, common, tflite_models, training_speed
from mobilenet import files

SECTIONS = {"training_speed": training_speed, "accuracy": accuracy, "tflite": tflite_models}


def main(names):
    os.makedirs(common.DOCS, exist_ok=True)
    chosen = names or list(SECTIONS)
    body = []
    for name in chosen:
        print(f"== benchmark: {name}", flush=True)
        body.append(SECTIONS[name].run())
        print(body[-1], flush=True)
    header = [
        "# Benchmarks",
        "",
        f"Made by `make bench` (`python -m benchmarks.run_all`) on "
        f"{datetime.date.today()}: {common.machine()}.",
        "",
    ]
    text = "\n".join(header + body) + "\n"
    files.write_atomically(os.path.join(common.DOCS, "BENCHMARKS.md"), text)


if __name__ == "__main__":
    main(sys.argv[1:])
