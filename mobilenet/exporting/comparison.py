"""A `.tflite` measured beside the Keras model it came from.

The measure stage takes files only; here the float model is found (the training run's
best.keras when the file sits in its work directory, or one given) and passed as what a
measurement needs: its scores on the same pixels (`evaluate_tflite`), or its blocks
converted as the file was (`block_latency`). `python -m mobilenet evaluate` and
`python -m mobilenet benchmark --per_layer` are their command lines.
"""

import os

from mobilenet.converting import conversion
from mobilenet.data import datasets, folders
from mobilenet.errors import ParameterError
from mobilenet.measure import evaluation, latency, layer_latency, litert
from mobilenet.model import network
from mobilenet.training.run_directory import RunDirectory


def evaluate_tflite(tflite, dataset, data_dir=None, split=None, label_offset=None, threads=2, input_mean=None,
                    input_std=None, model=None):
    """The `.tflite` file `tflite` on `dataset`'s `split`: top-1, top-5, and per class, and
    the float model's beside it.

    Args:
      tflite: the file's path.
      dataset: a TFDS image-classification dataset name, or "folder:PATH".
      data_dir: where TFDS keeps prepared datasets (None: TFDS' default).
      split: the split to evaluate; None for the dataset's test split, else its validation
        split (what export evaluates).
      label_offset: model outputs before class 0; None to detect it.
      threads: interpreter threads.
      input_mean, input_std: float32 inputs only; None to read them from the metadata.
      model: a `.keras` float model to evaluate on the same images beside the file; None
        for the training run's best.keras when the file sits in its work directory.

    A PATH/<class>/<image> folder is split as the training run beside the file split it
    (its config's validation_fraction), else with the default share.

    Returns:
      A mobilenet.measure.evaluation.Evaluation (`.tflite.top1`, `.tflite.per_class`,
      `.keras`, `.to_json()` ...).
    """
    classifier = litert.TFLiteClassifier(litert.read_tflite(tflite), threads, input_mean, input_std)
    reference = None
    model_path = model or trained_model_beside(tflite)
    if model_path:
        keras_model = network.with_resolution(network.load_model(model_path, "model"), classifier.resolution)
        reference = keras_model.predict_on_batch
    run_config = _run_beside(tflite).read_config() or {}
    fraction = run_config.get("validation_fraction", folders.VALIDATION_FRACTION)
    return evaluation.evaluate(classifier, datasets.load_dataset(dataset, data_dir, validation_fraction=fraction), split,
                               label_offset, reference)


def block_latency(tflite, model=None, threads=latency.THREADS, runs=100):
    """Per-block latency of the `.tflite` at `tflite` (mobilenet.measure.layer_latency's rows
    and the whole file's own latency at each thread count).

    `model` is the file's `.keras` model; None for the training run's best.keras beside
    the file. A file without one is not a MobileNet made here: ParameterError.
    """
    content = litert.read_tflite(tflite)
    litert.check_threads(threads)
    model_path = model or trained_model_beside(tflite)
    if not model_path:
        raise ParameterError(f"{{tflite}} {tflite} is not a MobileNet made here (no training run's best.keras "
                             "beside it): give its .keras model as {model}")
    resolution = litert.TFLiteClassifier(content).resolution
    keras_model = network.with_resolution(network.load_model(model_path, "model"), resolution)
    prefixes = conversion.convert_block_prefixes(keras_model, content)
    return layer_latency.time_blocks(prefixes, content, threads, runs)


def trained_model_beside(tflite):
    """The best.keras of the training run whose work directory holds `tflite`, or None."""
    return _run_beside(tflite).trained_model()


def _run_beside(tflite):
    return RunDirectory(os.path.dirname(os.path.abspath(tflite)))
