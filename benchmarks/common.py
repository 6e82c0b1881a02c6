"""What every benchmark section needs: the shared dataset, and the machine it ran on."""

import os

from mobilenet.data import datasets
from mobilenet.machine import describe as machine  # noqa: F401  (each section's stamp)

DATA_DIR = os.environ.get("TFDS_DATA_DIR", os.path.join("..", "shared", "tensorflow_datasets"))
DATASET = "imagenette/160px-v2"
DOCS = "docs"


def imagenette():
    return datasets.load_dataset(DATASET, DATA_DIR)
