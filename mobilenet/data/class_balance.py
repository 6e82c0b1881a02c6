"""How evenly a dataset's classes are represented, and the loss weights that even them out."""

import numpy as np


def balanced_weights(counts):
    """Keras' class_weight for inverse class frequency: n / (classes * count), 1 on average
    over the images (scikit-learn's "balanced")."""
    counts = np.asarray(list(counts), np.float64)
    return {index: float(counts.sum() / (len(counts) * count)) for index, count in enumerate(counts) if count}


def imbalance(counts):
    """Largest over smallest class count (inf when a class has none)."""
    counts = np.asarray(list(counts))
    return float(counts.max() / counts.min()) if counts.min() else float("inf")
