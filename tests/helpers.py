"""What the tests share besides fixtures: the repository's paths, tiny datasets and configs,
running a script, waiting for what a process writes, and digests of weights."""

import os
import pathlib
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("MOBILENET_SHARED", REPO.parent / "shared"))


def write_image_folder(root, classes=("red", "green", "blue"), per_split=(("train", 8), ("val", 4)), side=48):
    """A folder dataset root/<split>/<class>/*.jpg of coloured noise, one colour a class.

    One image per split is a grayscale JPEG and one an RGBA PNG, the formats a user's
    folder may hold.
    """
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for split, count in per_split:
        for class_index, name in enumerate(classes):
            directory = root / split / name
            directory.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 120, (side, side + 8, 3), dtype=np.uint8)
                pixels[..., class_index] += 130
                if class_index == 0 and i == 0:
                    data = tf.io.encode_jpeg(pixels[..., :1]).numpy()  # grayscale
                elif class_index == 1 and i == 0:
                    alpha = np.full((side, side + 8, 1), 255, np.uint8)
                    (directory / f"{i}.png").write_bytes(tf.io.encode_png(np.concatenate([pixels, alpha], -1)).numpy())
                    continue
                else:
                    data = tf.io.encode_jpeg(pixels).numpy()
                (directory / f"{i}.jpg").write_bytes(data)
    return root


def tiny_config(dataset, **overrides):
    """The default config shrunk to seconds: α 0.25 at 32 pixels."""
    from mobilenet.configs import default

    config = default.get_config()
    config.update(
        alpha=0.25, resolution=32, dataset=dataset, epochs=2, batch_size=8, eval_batch_size=8,
        warmup_epochs=0, learning_rate=0.05,
    )
    config.update(overrides)
    return config


def train_tiny_run(root):
    """(work directory, image folder) of the tiny run under `root`: a folder of coloured noise
    and 2 epochs of tiny_config on it, trained unless already there."""
    import mobilenet

    workdir, folder = root / "tiny_run", root / "tiny_run_folder"
    if not (workdir / "final.keras").exists():
        if not folder.exists():
            write_image_folder(folder)
        mobilenet.train(tiny_config(f"folder:{folder}"), str(workdir))
    return workdir, folder


def run_script(*args, env=None, timeout=600):
    """Runs a repository script or module, returning the completed process."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=timeout)


def wait_for(condition, process, what, timeout=300):
    """Waits until `condition()` holds: the event a subprocess signals by what it writes;
    fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the process ended before {what}: {process.communicate()[1][-3000:]}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)


def weights_digest(model_or_path):
    """A short hash of every weight of a Keras model (or a .keras file): equal digests, equal models."""
    import hashlib

    from mobilenet.model import network

    model = network.load_model(str(model_or_path)) if isinstance(model_or_path, (str, os.PathLike)) else model_or_path
    return hashlib.sha256(b"".join(weights.tobytes() for weights in model.get_weights())).hexdigest()[:16]


def history_epochs(workdir):
    """The epochs a run's history.csv holds."""
    from mobilenet.training.run_directory import RunDirectory

    return [row["epoch"] for row in RunDirectory(str(workdir)).read_history()]
