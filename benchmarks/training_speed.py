"""Training throughput on this CPU: our model against keras.applications, side by side.

Images/s of training steps at batch 32, timed from callbacks (model.fit can idle after
its last step while tf.data autotunes), after warm-up steps:

* ours, fed by the real pipeline from Imagenette (decode, random crop, flip);
* ours with Keras' stock BatchNormalization, in-memory tensors: the cause of the gap;
* keras.applications.MobileNet(alpha=0.5), in-memory tensors;

all three with TensorFlow's oneDNN kernels on (as the commands set them) and again off, in a
child process, and the input pipeline alone: plain, with each augmentation of
benchmarks/ablation.py, with keras.layers.RandAugment as it is, and with the default
config's augmentations (whose rate must stay 3x training's). The GPU table is measured on a GPU machine by
benchmarks/gpu_training.py and included here.

  python -m benchmarks.training_speed   # the three rates alone, as JSON, in this environment
"""

import json
import os
import subprocess
import sys
import time
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from benchmarks import ablation, common
from mobilenet import configs
from mobilenet.configs import default
from mobilenet.data import augmentation, input_pipeline
from mobilenet.model import network as model_lib

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


def images_per_second(model, data):
    # No XLA: jit_compile=True trains this model 6-10x slower on a CPU.
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "categorical_crossentropy",
                  jit_compile=False)
    timer = StepTimer()
    model.fit(data, epochs=1, steps_per_epoch=WARMUP_STEPS + TIMED_STEPS, callbacks=[timer], verbose=0)
    return BATCH / np.median(timer.durations[WARMUP_STEPS:])


def in_memory_batches(num_classes):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (BATCH, 160, 160, 3)).astype(np.float32)
    labels = tf.one_hot(rng.integers(0, num_classes, BATCH), num_classes)
    return tf.data.Dataset.from_tensors((images, labels)).repeat()


def gpu_section():
    """The GPU table that `python -m benchmarks.gpu_training` measured on a GPU machine."""
    path = os.path.join(common.DOCS, "gpu_training.md")
    if not os.path.exists(path):
        return ["", "GPU: not measured yet; `python -m benchmarks.gpu_training` on a GPU machine writes",
                f"{path}, which this section then includes."]
    with open(path) as file:
        table = file.read().strip()
    return ["", "### On a GPU", "", table, "",
            "On JAX, `jit_compile=False` runs every op eagerly, one dispatch at a time: the rows without",
            "XLA show that cost there, not TensorFlow's, whose non-XLA path still runs a graph."]


def model_rates(dataset):
    """{model and input: training images/s} for the three models, in this process."""
    real = input_pipeline.train_images(dataset, 160, BATCH)
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
    return rates


def run():
    dataset = common.imagenette()
    rates = model_rates(dataset)
    child = subprocess.run([sys.executable, "-m", "benchmarks.training_speed"], capture_output=True, text=True,
                           check=True, env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0"))
    rates_without_onednn = json.loads(child.stdout.splitlines()[-1])

    pipelines = {name: pipeline_rate(dataset, *stages) for name, stages in pipeline_stages().items()}

    ours, stock, reference = rates.values()
    ours_off, stock_off, reference_off = rates_without_onednn.values()
    lines = [
        "## Training throughput",
        "",
        f"Batch {BATCH}, median step time over {TIMED_STEPS} steps after {WARMUP_STEPS} warm-up steps, SGD.",
        "",
        "| Model and input | Images/s | Images/s, oneDNN off |",
        "|---|---|---|",
        *[f"| {name} | {rate:.0f} | {rates_without_onednn[name]:.0f} |" for name, rate in rates.items()],
        "",
        f"Ours / keras.applications: **{ours / reference:.2f}x** (target >= 1.0, aim 1.4); "
        f"{ours_off / reference_off:.2f}x with oneDNN off. "
        f"The fused batch norm alone: {ours / stock:.2f}x over Keras' BatchNormalization "
        f"({ours_off / stock_off:.2f}x with oneDNN off).",
        "",
        f"The input pipeline alone (ρ 160, batch {BATCH}: {PLAIN}), then with each augmentation of the ablation, "
        "against our training rate above (the target: at least 3x with the default config's augmentations):",
        "",
        "| Input pipeline | Images/s | / training |",
        "|---|---|---|",
        *[f"| {name} | {rate:.0f} | {rate / ours:.1f}x |" for name, rate in pipelines.items()],
        "",
        default_pipeline_line(dataset, pipelines, ours),
        "",
        "Why: a TensorFlow profile of a training step (`tf.profiler`, framework op stats) shows",
        "keras.applications spending its extra time in `Mul`, `Sum`, `Mean`, `SquaredDifference`,",
        "`BroadcastTo`, `Sub` and `AddN`: Keras 3's TensorFlow backend builds batch norm from",
        "elementwise ops and their gradients, where tf_keras called the fused kernel. Our",
        "`FusedBatchNormalization` trains with `tf.nn.fused_batch_norm` (one kernel forward,",
        "one backward) and runs the stock layer at inference, so the exported graph is unchanged.",
        "TensorFlow's fused kernel is fast in its oneDNN version, and TensorFlow turns oneDNN on by",
        "default only on some x86 CPUs; the commands turn it on (`TF_ENABLE_ONEDNN_OPTS=1`,",
        "unless the environment says otherwise). The second column, oneDNN off, shows what that is",
        f"worth to our training on this CPU: {ours / ours_off:.1f}x.",
        *gpu_section(),
    ]
    return "\n".join(lines)


PLAIN = "decode, random crop, flip, batch"


def pipeline_stages():
    """{row name: (augment_image, mix_batch)} of the pipelines timed alone: the plain one,
    each of the ablation's knobs on it, and keras.layers.RandAugment as it is."""
    plain = default.get_config()
    plain.update(configs.AUGMENTATION_OFF)
    stages = {PLAIN: (None, None)}
    for name, knobs in ablation.KNOBS.items():
        config = plain.copy_and_resolve_references()
        config.update(knobs)
        augment_image, mix_batch = augmentation.image_augmentation(config), augmentation.batch_mixing(config)
        if augment_image or mix_batch:
            stages[name] = (augment_image, mix_batch)
        if config.randaugment_ops:  # the layer itself computes every op on every image
            layer = keras.layers.RandAugment(value_range=(0, 255), num_ops=config.randaugment_ops,
                                             factor=config.randaugment_magnitude)
            stages[name.replace("RandAugment", "keras.layers.RandAugment itself", 1)] = (
                lambda image, layer=layer: input_pipeline.to_uint8(layer(image)), None)
    return stages


def default_pipeline_line(dataset, pipelines, training_rate):
    """What the default config's own augmentations leave of the pipeline's lead."""
    config = default.get_config()
    stages = augmentation.image_augmentation(config), augmentation.batch_mixing(config)
    if stages == (None, None):
        return (f"configs/default.py adds none of them (see the ablation), so its pipeline is the first row: "
                f"**{pipelines[PLAIN] / training_rate:.1f}x** training's rate (target >= 3).")
    rate = pipeline_rate(dataset, *stages)
    return f"With configs/default.py's augmentations: {rate:.0f} images/s, **{rate / training_rate:.1f}x** training's rate (target >= 3)."


def pipeline_rate(dataset, augment_image, mix_batch, warmup=20, timed=100):
    iterator = iter(input_pipeline.train_images(dataset, 160, BATCH, augment_image=augment_image,
                                                batch_stages=[mix_batch] if mix_batch else ()))
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(timed):
        next(iterator)
    return timed * BATCH / (time.perf_counter() - start)


if __name__ == "__main__":
    print(json.dumps(model_rates(common.imagenette())))
