"""Training throughput on a GPU: images/s by batch size, precision and XLA.

  python -m benchmarks.gpu_training [OUTPUT.md]     # default docs/gpu_training.md

Runs on whichever Keras backend is installed (KERAS_BACKEND): TensorFlow where it sees
the GPU, or JAX, which is how it ran on the lent H100 machine, where TensorFlow's wheels
and the CUDA 12 libraries they need cannot be installed. The model is the same
`mobilenet_v1` either way; batch norm takes Keras' stock path outside TensorFlow.

Images come from the host as uint8 arrays (as the input pipeline delivers them), so the
figures are the GPU's training speed, not an input pipeline's. Each case compiles with
a few warm-up steps in one `fit`, then a second `fit` of TIMED_STEPS steps is timed
whole (a backend may dispatch steps asynchronously, so single steps are not timed).
"""

import datetime
import os
import platform
import subprocess
import sys
import time

import keras
import numpy as np

from mobilenet import files
from mobilenet.model import network as model_lib

WARMUP_STEPS = 5
TIMED_STEPS = 30
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
# (alpha, resolution, batch, policy, jit_compile): the ImageNet-sized model at the batches
# a GPU trains with, every precision with and without XLA; then the default config's
# model and batch (configs/default.py), to say how long its epochs take on a GPU.
CASES = [
    (1.0, 224, batch, policy, jit_compile)
    for batch in (128, 256)
    for policy in POLICIES
    for jit_compile in (True, False)
] + [(0.5, 160, 64, "float32", True), (0.5, 160, 64, "float32", False)]


def images_per_second(alpha, resolution, batch, policy, jit_compile):
    keras.mixed_precision.set_global_policy(policy)
    model = model_lib.mobilenet_v1(alpha, resolution, num_classes=1000)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "sparse_categorical_crossentropy",
                  jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch, resolution, resolution, 3), dtype=np.uint8)
    labels = rng.integers(0, 1000, (batch,))

    def batches():
        while True:
            yield images, labels

    model.fit(batches(), epochs=1, steps_per_epoch=WARMUP_STEPS, verbose=0)
    start = time.perf_counter()
    model.fit(batches(), epochs=1, steps_per_epoch=TIMED_STEPS, verbose=0)
    keras.mixed_precision.set_global_policy("float32")
    return TIMED_STEPS * batch / (time.perf_counter() - start)


def gpu_name():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                              text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "no GPU found by nvidia-smi"


def backend_version():
    backend = keras.backend.backend()
    module = __import__("tensorflow" if backend == "tensorflow" else backend)
    return f"{backend} {module.__version__}"


def main(output):
    header = [
        f"Measured by `python -m benchmarks.gpu_training` on {datetime.date.today()}: {gpu_name()}, "
        f"{os.cpu_count()} CPU cores ({platform.machine()}); Keras {keras.__version__} on {backend_version()}. "
        f"Images/s over {TIMED_STEPS} steps after {WARMUP_STEPS} warm-up steps, SGD, 1000 classes, uint8 "
        "images from host memory.",
        "",
        "| Model | Batch | Precision | XLA (jit_compile) | Images/s |",
        "|---|---|---|---|---|",
    ]
    rows = []
    for alpha, resolution, batch, policy, jit_compile in CASES:
        rate = images_per_second(alpha, resolution, batch, policy, jit_compile)
        rows.append(f"| MobileNet V1 {alpha}-{resolution} | {batch} | {policy} | {'yes' if jit_compile else 'no'} "
                    f"| {rate:.0f} |")
        print(rows[-1], flush=True)
        # Written after every case: a run cut short keeps what it measured.
        files.write_atomically(output, "\n".join(header + rows) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join("docs", "gpu_training.md"))
