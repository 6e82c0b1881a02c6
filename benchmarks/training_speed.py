"""Training throughput on this CPU: our model against keras.applications, side by side.

Images/s of training steps at batch 32, timed from callbacks (model.fit can idle after
its last step while tf.data autotunes), after warm-up steps:

* ours, fed by the real pipeline from Imagenette (decode, random crop, flip);
* ours with Keras' stock BatchNormalization, in-memory tensors: the cause of the gap;
* keras.applications.MobileNet(alpha=0.5), in-memory tensors;

and the input pipeline alone.
"""

import time
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from benchmarks import common
from mobilenet import input_pipeline
from mobilenet import model as model_lib

BATCH = 32
WARMUP_STEPS = 8
TIMED_STEPS = 40


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.durations = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.durations.append(time.perf_counter() - self._start)


def images_per_second(model, data, batch=BATCH, jit_compile=False):
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "categorical_crossentropy",
                  jit_compile=jit_compile)
    timer = StepTimer()
    model.fit(data, epochs=1, steps_per_epoch=WARMUP_STEPS + TIMED_STEPS, callbacks=[timer], verbose=0)
    return batch / np.median(timer.durations[WARMUP_STEPS:])


def in_memory_batches(num_classes, batch=BATCH, resolution=160):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch, resolution, resolution, 3)).astype(np.float32)
    labels = tf.one_hot(rng.integers(0, num_classes, batch), num_classes)
    return tf.data.Dataset.from_tensors((images, labels)).repeat()


def gpu_section():
    """MobileNet V1 1.0-224 on the GPU: batch 128 and 256, float32 and mixed_float16, with
    and without XLA, from in-memory tensors (the GPU's speed, not the input pipeline's)."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return ["", "GPU: not measured yet (this machine has none); `make bench` on a GPU machine adds the",
                "table of images/s at batch 128 and 256, float32 and mixed_float16, with and without XLA."]
    lines = ["", f"GPU ({tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')}), "
             "MobileNet V1 1.0-224, 1000 classes, in-memory tensors:", "",
             "| Batch | Precision | XLA (jit_compile) | Images/s |", "|---|---|---|---|"]
    for batch in (128, 256):
        for policy in ("float32", "mixed_float16"):
            for jit_compile in (False, True):
                keras.mixed_precision.set_global_policy(policy)
                model = model_lib.mobilenet_v1(1.0, 224)
                rate = images_per_second(model, in_memory_batches(1000, batch, 224), batch, jit_compile)
                lines.append(f"| {batch} | {policy} | {'yes' if jit_compile else 'no'} | {rate:.0f} |")
    keras.mixed_precision.set_global_policy("float32")
    return lines


def run():
    dataset = common.imagenette()
    real = input_pipeline.train_images(dataset, 160, BATCH).map(lambda x, y: (x, tf.one_hot(y, 10)))
    # keras.applications expects inputs in [-1, 1]: give it that, as a user would.
    scaled = in_memory_batches(10).map(lambda x, y: (x / 127.5 - 1, y))
    rates = {}
    rates["mobilenet_v1(0.5, 160), real Imagenette pipeline"] = images_per_second(
        model_lib.mobilenet_v1(0.5, 160, num_classes=10), real)
    with mock.patch.object(model_lib, "FusedBatchNormalization", keras.layers.BatchNormalization):
        rates["mobilenet_v1(0.5, 160) with Keras' BatchNormalization, in-memory tensors"] = images_per_second(
            model_lib.mobilenet_v1(0.5, 160, num_classes=10), in_memory_batches(10))
    rates["keras.applications.MobileNet(alpha=0.5), in-memory tensors"] = images_per_second(
        keras.applications.MobileNet(input_shape=(160, 160, 3), alpha=0.5, weights=None, classes=10), scaled)

    iterator = iter(input_pipeline.train_images(dataset, 160, BATCH))
    for _ in range(20):
        next(iterator)
    start = time.perf_counter()
    for _ in range(100):
        next(iterator)
    pipeline_rate = 100 * BATCH / (time.perf_counter() - start)

    ours, stock, reference = rates.values()
    lines = [
        "## Training throughput",
        "",
        f"Batch {BATCH}, median step time over {TIMED_STEPS} steps after {WARMUP_STEPS} warm-up steps, SGD.",
        "",
        "| Model and input | Images/s |",
        "|---|---|",
        *[f"| {name} | {rate:.0f} |" for name, rate in rates.items()],
        f"| input pipeline alone (decode, random crop, flip, batch) | {pipeline_rate:.0f} |",
        "",
        f"Ours / keras.applications: **{ours / reference:.2f}x** (target >= 1.0, aim 1.4). "
        f"The fused batch norm alone: {ours / stock:.2f}x over Keras' BatchNormalization.",
        f"Input pipeline / training: **{pipeline_rate / ours:.1f}x** (target >= 3).",
        "",
        "Why: a TensorFlow profile of a training step (`tf.profiler`, framework op stats) shows",
        "keras.applications spending its extra time in `Mul`, `Sum`, `Mean`, `SquaredDifference`,",
        "`BroadcastTo`, `Sub` and `AddN`: Keras 3's TensorFlow backend builds batch norm from",
        "elementwise ops and their gradients, where tf_keras called the fused kernel. Our",
        "`FusedBatchNormalization` trains with `tf.nn.fused_batch_norm` (one kernel forward,",
        "one backward) and runs the stock layer at inference, so the exported graph is unchanged.",
        *gpu_section(),
    ]
    return "\n".join(lines)
