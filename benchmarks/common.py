"""What every benchmark section needs: the shared dataset, and the machine it ran on."""

import os
import platform

import keras
import tensorflow as tf

from mobilenet import input_pipeline

DATA_DIR = os.environ.get("TFDS_DATA_DIR", os.path.join("..", "shared", "tensorflow_datasets"))
DATASET = "imagenette/160px-v2"
DOCS = "docs"


def imagenette():
    return input_pipeline.load_dataset(DATASET, DATA_DIR)


def machine():
    """The CPU (with its widest vector instructions: kernels differ by them), cores, versions."""
    cpu, flags = platform.processor() or platform.machine(), []
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            info = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in file)}
        cpu = info.get("model name", cpu)
        flags = info.get("flags", "").split()
    vector = next((name for name in ("avx512_vnni", "avx512f", "avx2") if name in flags), None)
    onednn = {"1": "on", "0": "off"}.get(os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "as TensorFlow chooses")
    return (f"{cpu}{f' ({vector.upper()})' if vector else ''}, {os.cpu_count()} cores; TensorFlow {tf.__version__} "
            f"(oneDNN {onednn}), Keras {keras.__version__}")
