"""Human-readable names for WordNet-id classes (Imagenette's `n01440764` is a tench).

The names come from Keras' ImageNet class index (`imagenet_class_index.json`, the file
`keras.applications.imagenet_utils.decode_predictions` reads), which Keras downloads once
into its cache (KERAS_HOME, else ~/.keras). Without it (no network, nothing cached) the
ids are shown alone.
"""

import contextlib
import functools
import io
import json
import os
import re

WORDNET_ID = re.compile(r"^n\d{8}$")
# Where Keras downloads the index from (keras.applications.imagenet_utils.CLASS_INDEX_PATH).
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"



def readable(class_names):
    """Each name, with its human-readable one beside a WordNet id when known:
    "n01440764 (tench)"."""
    names = _wordnet_names() if any(WORDNET_ID.match(name) for name in class_names) else {}
    return [f"{name} ({names[name]})" if name in names else name for name in class_names]


@functools.cache
def _wordnet_names():
    """{WordNet id: name} from Keras' ImageNet class index, or {} when it cannot be had."""
    from keras.utils import get_file

    try:
        # No hash check: a cached copy is used as it is (it holds names, nothing that runs).
        with contextlib.redirect_stdout(io.StringIO()):  # Keras announces the download
            path = get_file("imagenet_class_index.json", CLASS_INDEX_URL, cache_subdir="models", cache_dir=_keras_home())
        with open(path) as file:
            index = json.load(file)
    except Exception:  # no network and nothing cached: ids alone
        return {}
    return {wordnet_id: name.replace("_", " ") for wordnet_id, name in index.values()}


def _keras_home():
    """Keras' cache, by Keras' own rule (KERAS_HOME, else ~/.keras), read when called: Keras
    reads it once, when it is imported."""
    return os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
