"""Human-readable names for WordNet-id classes (Imagenette's `n01440764` is a tench).

From what TensorFlow Datasets installs, no download: ImageNet's WordNet ids in its class
order (imagenet2012's labels.txt) and the readable names in that same order (the list its
SI-Score builder keeps), of which each class's first name is taken ("tench, Tinca tinca" is a
tench). Shown by the card, `predict` and the web page, and carried in every exported file
as its display names; the ids stay the labels.
"""

import functools
import os
import re

WORDNET_ID = re.compile(r"^n\d{8}$")


def readable(class_names):
    """Each name, with its human-readable one beside a WordNet id when known:
    "n01440764 (tench)"."""
    names = _wordnet_names() if any(WORDNET_ID.match(name) for name in class_names) else {}
    return [f"{name} ({names[name]})" if name in names else name for name in class_names]


@functools.cache
def _wordnet_names():
    """{WordNet id: readable name} of ImageNet's 1,000 classes."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.datasets.siscore import labels

    with open(os.path.join(os.path.dirname(tfds.__file__), "datasets", "imagenet2012", "labels.txt")) as file:
        wordnet_ids = file.read().split()
    return {wordnet_id: name.split(",")[0] for wordnet_id, name in zip(wordnet_ids, labels.IMAGENET_LABELS_LIST)}


def display_names(class_names):
    """The readable names of WordNet-id classes (["tench", ...]), or None when the classes are
    not all WordNet ids (a folder's own names are readable already)."""
    names = _wordnet_names() if all(WORDNET_ID.match(name) for name in class_names) else {}
    return [names[name] for name in class_names] if names and all(name in names for name in class_names) else None
