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
    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            cpu = next((line.split(":", 1)[1].strip() for line in file if line.startswith("model name")), cpu)
    return f"{cpu}, {os.cpu_count()} cores; TensorFlow {tf.__version__}, Keras {keras.__version__}"
