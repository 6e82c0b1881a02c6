"""training.train: the work directory's contents, resuming, transfer learning, errors."""

import csv
import errno
import json
import os
import platform
import pty
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from ai_edge_litert import schema_py_generated as schema

from mobilenet.commands import cli
from mobilenet.errors import ParameterError, StorageError
from mobilenet.training.recorder import kept_epoch
from mobilenet.converting import conversion
from mobilenet.training import distribution, loop as training

from helpers import REPO, history_epochs, run_script, tiny_config, write_image_folder


def test_work_directory_holds_everything_export_needs(tiny_run):
    trained_workdir, _ = tiny_run
    names = set(os.listdir(trained_workdir))
    assert {"config.json", "labels.txt", "history.csv", "tensorboard", "best.keras", "final.keras", "checkpoints"} <= names
    assert not [n for n in names if "partial" in n]
    assert sorted(os.listdir(trained_workdir / "checkpoints")) == ["epoch_0001.keras", "epoch_0002.keras"]
    assert (trained_workdir / "labels.txt").read_text().split() == ["blue", "green", "red"]
    config = json.loads((trained_workdir / "config.json").read_text())
    assert (config["alpha"], config["resolution"], config["eval_split"]) == (0.25, 32, "val")
    assert history_epochs(trained_workdir) == [1, 2]
    with open(trained_workdir / "history.csv") as file:
        row = next(csv.DictReader(file))
    assert {"loss", "top1", "top5", "val_top1", "val_top5", "learning_rate", "seconds"} <= set(row)
    # A top-1 on a fixed split says on how many images, and on so few, its 95 % Wilson interval.
    assert float(row["val_examples"]) == 12
    assert float(row["val_top1_low"]) <= float(row["val_top1"]) <= float(row["val_top1_high"])
    assert "leader.keras" in names
    model = keras.saving.load_model(trained_workdir / "final.keras", safe_mode=True)
    assert model.output.shape == (None, 3)


@pytest.mark.slow  # trains
def test_rerun_with_more_epochs_resumes(tiny_run_copy, capsys):
    trained_workdir, image_folder = tiny_run_copy
    # What a run killed while writing leaves behind goes at the next start.
    stale = [trained_workdir / ".history.partial-99999.csv", trained_workdir / "checkpoints" / ".epoch_0003.partial-99999.keras"]
    for path in stale:
        path.write_bytes(b"half")
    history = training.train(tiny_config(f"folder:{image_folder}", epochs=3), str(trained_workdir)).history
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert "Resuming" in capsys.readouterr().out
    assert sorted(os.listdir(trained_workdir / "checkpoints")) == ["epoch_0002.keras", "epoch_0003.keras"]
    assert not any(path.exists() for path in stale)


@pytest.mark.slow  # trains
def test_full_disk_stops_with_a_message_and_loses_no_finished_epoch(image_folder, tmp_path, monkeypatch):
    """The disk fills while the checkpoint of epoch 2 is written."""
    save = keras.Model.save

    def save_until_full(model, path, *args, **kwargs):
        if "epoch_0002" in str(path):
            with open(path, "wb") as file:
                file.write(b"PK half a zip")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return save(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save_until_full)
    workdir = tmp_path / "run"
    with pytest.raises(StorageError, match=r"^No space left on device: .*; the last finished epoch is kept"):
        training.train(tiny_config(f"folder:{image_folder}"), str(workdir))
    assert not [path for path in workdir.rglob("*") if "partial" in path.name]
    assert os.listdir(workdir / "checkpoints") == ["epoch_0001.keras"]
    monkeypatch.setattr(keras.Model, "save", save)
    history = training.train(tiny_config(f"folder:{image_folder}"), str(workdir)).history
    assert [row["epoch"] for row in history] == [1, 2]


def test_unwritable_workdir_is_refused_before_training(image_folder, tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ValueError, match="^workdir .*a_file/run cannot be written: Not a directory"):
        training.train(tiny_config(f"folder:{image_folder}"), str(tmp_path / "a_file" / "run"))


def test_workdir_of_another_run_is_refused(tiny_run_copy):
    trained_workdir, image_folder = tiny_run_copy
    with pytest.raises(ValueError, match=r"holds another run \(alpha 0.25 -> 0.5\)"):
        training.train(tiny_config(f"folder:{image_folder}", alpha=0.5), str(trained_workdir))


@pytest.mark.slow  # trains
def test_backbone_from_keras_weights_file_stays_frozen(shared, image_folder, tmp_path):
    weights = str(shared / "models/keras_applications/mobilenet_2_5_224_tf_no_top.h5")
    config = tiny_config(f"folder:{image_folder}", init_from=weights, frozen_epochs=1, epochs=1)
    training.train(config, str(tmp_path))
    trained = keras.saving.load_model(tmp_path / "final.keras", safe_mode=True)
    reference = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=0.25, include_top=False, weights=weights)
    for name in ("conv1", "conv_dw_7", "conv_pw_13", "conv_pw_13_bn"):
        for ours, theirs in zip(trained.get_layer(name).get_weights(), reference.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    assert trained.get_layer("conv_preds").get_weights()[0].shape == (1, 1, 256, 3)


def tflite_structure(content, with_values=False):
    """What a runtime sees of a file: its operators in order and its tensors' types
    (and, with values, their shapes, quantization and data); not the tensor names."""
    model = schema.ModelT.InitFromPackedBuf(content, 0)
    graph = model.subgraphs[0]
    codes = [model.operatorCodes[op.opcodeIndex] for op in graph.operators]
    operators = [max(code.builtinCode, code.deprecatedBuiltinCode) for code in codes]
    if not with_values:
        return operators, [tensor.type for tensor in graph.tensors]
    tensors = []
    for tensor in graph.tensors:
        quantization = tensor.quantization
        scales = None if quantization is None or quantization.scale is None else list(quantization.scale)
        data = model.buffers[tensor.buffer].data
        tensors.append((tensor.type, list(tensor.shape), scales, None if data is None else bytes(data)))
    return operators, tensors


@pytest.mark.slow  # end to end
def test_mixed_precision_trains_in_bfloat16_and_exports_as_float32(image_folder, tmp_path):
    config = tiny_config(f"folder:{image_folder}", epochs=1, mixed_precision="mixed_bfloat16", strategy="mirrored")
    history = training.train(config, str(tmp_path / "mixed")).history
    mixed = keras.saving.load_model(tmp_path / "mixed" / "final.keras", safe_mode=True)
    assert mixed.get_layer("conv_pw_13").compute_dtype == "bfloat16"
    # The classifier's softmax, and so the loss, stay in float32.
    assert mixed.get_layer("predictions").compute_dtype == "float32"
    assert mixed.output.dtype == "float32" and np.isfinite(history[-1]["loss"])
    training.train(tiny_config(f"folder:{image_folder}", epochs=1), str(tmp_path / "plain"))
    plain = keras.saving.load_model(tmp_path / "plain" / "final.keras", safe_mode=True)
    assert plain.get_layer("conv_pw_13").compute_dtype == "float32"

    # The mixed model's files are those of its weights in a float32 model (all but the
    # tensor names), and have the structure of a float32 run's files: no bfloat16 anywhere.
    same_weights = training.build_model(tiny_config(f"folder:{image_folder}"), 3)
    same_weights.set_weights(mixed.get_weights())
    calibration = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    for quantization in ("float32", "int8"):
        files = [conversion.convert(m, quantization, calibration) for m in (mixed, same_weights, plain)]
        assert tflite_structure(files[0], with_values=True) == tflite_structure(files[1], with_values=True)
        assert tflite_structure(files[0]) == tflite_structure(files[2])
        assert schema.TensorType.BFLOAT16 not in tflite_structure(files[0])[1]


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"init_from": "/no/such/weights.h5"}, "^init_from /no/such/weights.h5: no such .h5 or .keras file"),
        ({"batch_size": 0}, "^config.batch_size must be >= 1"),
        ({"min_steps_per_phase": -1}, "^config.min_steps_per_phase must be >= 0"),
        ({"fit_head": True}, "^config.fit_head needs config.init_from"),
        ({"epochs": 0}, "^config.epochs must be >= 1"),
        ({"alpha": 0.0}, "^alpha must be a number > 0"),
        ({"resolution": 16}, "^resolution must be an integer >= 32"),
        ({"frozen_epochs": 1}, "^config.frozen_epochs needs config.init_from"),
        ({"strategy": "horovod"}, "^config.strategy must be default, mirrored, multi_worker or tpu"),
    ],
)
def test_bad_config_raises_an_error_naming_the_field(image_folder, tmp_path, overrides, message):
    with pytest.raises(ParameterError, match=message):
        training.train(tiny_config(f"folder:{image_folder}", **overrides), str(tmp_path / "run"))


def test_init_from_a_file_that_does_not_fit(image_folder, tmp_path, tiny_run):
    trained_workdir, _ = tiny_run
    # A 0.25 model's weights do not fit a 0.5 model.
    config = tiny_config(f"folder:{image_folder}", alpha=0.5, init_from=str(trained_workdir / "final.keras"))
    with pytest.raises(ValueError, match="does not fit MobileNet V1 alpha 0.5"):
        training.train(config, str(tmp_path / "run"))


@pytest.mark.slow  # trains
def test_nan_loss_stops_training_with_a_message(image_folder, tmp_path):
    config = tiny_config(f"folder:{image_folder}", learning_rate=1e30, epochs=1, label_smoothing=0.0)
    with pytest.raises(training.TrainingDiverged, match="lower config.learning_rate"):
        training.train(config, str(tmp_path))
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow  # trains
def test_one_epoch_on_tfds_mock_data(shared, tmp_path):
    """The TFDS path (builder, split info, label names) with examples tfds.testing generates."""
    import tensorflow_datasets as tfds

    data_dir = str(shared / "tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=16, data_dir=data_dir):
        config = tiny_config("imagenette/160px-v2", data_dir=data_dir, train_split="train[:16]",
                             eval_split="validation[:16]", epochs=1)
        history = training.train(config, str(tmp_path)).history
    assert [row["epoch"] for row in history] == [1]
    assert np.isfinite(history[0]["loss"]) and 0 <= history[0]["val_top1"] <= 1
    labels = (tmp_path / "labels.txt").read_text().split()
    assert len(labels) == 10 and all(label.startswith("n0") for label in labels)  # WordNet ids
    assert (tmp_path / "final.keras").exists()


@pytest.mark.slow  # end to end
def test_training_on_a_folder_dataset_beats_chance(tmp_path):
    folder = write_image_folder(tmp_path / "images", per_split=(("train", 24), ("val", 8)))
    # A gentle rate and moving statistics that catch up within the 72 steps of this run.
    config = tiny_config(f"folder:{folder}", epochs=8, batch_norm_momentum=0.5, learning_rate=0.02, dropout_rate=0.0)
    history = training.train(config, str(tmp_path / "run")).history
    assert history[-1]["val_top1"] > 0.6  # three classes: chance is 1/3


@pytest.mark.slow  # end to end
def test_mirrored_strategy_on_two_logical_cpus(image_folder, tmp_path):
    """The strategy code path (variables and the global batch split over replicas) without GPUs."""
    result = run_script("tests/training_process.py", str(image_folder), str(tmp_path), "--strategy", "mirrored",
                        "--logical_cpus", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "replicas 2, weights sha256" in result.stdout and "epochs [1, 2]" in result.stdout
    model = keras.saving.load_model(tmp_path / "final.keras", safe_mode=True)
    # Training under the strategy updated the moving statistics (they start at 0 and 1).
    assert not np.allclose(model.get_layer("conv1_bn").moving_mean.numpy(), 0.0)


def train_py_output(image_folder, workdir, on_a_terminal):
    """What train.py writes to its standard output, a pipe or a terminal (a pseudo-terminal)."""
    command = [sys.executable, "train.py", "--dataset", f"folder:{image_folder}", "--alpha", "0.25", "--resolution",
               "32", "--epochs", "2", "--batch_size", "8", "--workdir", str(workdir)]
    if not on_a_terminal:
        result = run_script(*command[1:])
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=REPO, stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    assert process.wait() == 0
    os.close(leader)
    return output.decode(errors="replace")


@pytest.mark.slow  # end to end: a training command on a pseudo-terminal and off one
def test_off_a_terminal_training_prints_one_line_per_epoch_and_no_progress_bars(image_folder, tmp_path):
    piped = train_py_output(image_folder, tmp_path / "piped", on_a_terminal=False)
    assert "\r" not in piped and "\x1b" not in piped and "━" not in piped
    lines = piped.splitlines()
    assert lines[0].startswith(f"folder:{image_folder}: 3 classes; images: train 24, validation 12 (val)")
    assert [line.split(":")[0] for line in lines[1:3]] == ["Epoch 1/2", "Epoch 2/2"]
    assert re.fullmatch(r"Epoch 2/2: loss \d+\.\d{4}, top-1 \d\.\d{4}, validation top-1 \d\.\d{4} on 12 images "
                        r"\(95 % interval \d\.\d{4}-\d\.\d{4}\)( \(kept: epoch 1\))?, \d+ s", lines[2]), lines[2]
    assert lines[3].startswith("Trained ") and len(lines) == 4
    # On a terminal, as before: Keras' progress bars, redrawn in place.
    assert "━" in train_py_output(image_folder, tmp_path / "terminal", on_a_terminal=True)


@pytest.mark.slow  # trains
def test_a_batch_larger_than_the_data_is_capped_with_a_notice(image_folder, tmp_path, capsys):
    history = training.train(tiny_config(f"folder:{image_folder}", batch_size=1000, epochs=1), str(tmp_path)).history
    assert "config.batch_size 1000 is larger than the 24 training images: batches of 24" in capsys.readouterr().out
    assert [row["epoch"] for row in history] == [1]


def test_a_few_photos_a_class_keep_the_backbone_frozen_and_a_batch_fits_the_data(image_folder):
    from mobilenet.data import datasets

    dataset = datasets.load_dataset(f"folder:{image_folder}")  # 8 training images a class
    config = tiny_config(f"folder:{image_folder}", init_from="x.h5", frozen_below_per_class=10, batch_size=64)
    fitted, notices = training._fitted_to_the_data(config, dataset)
    assert fitted.frozen_epochs == fitted.epochs and fitted.batch_size == 24 and config.batch_size == 64
    assert notices == ["config.batch_size 64 is larger than the 24 training images: batches of 24",
                       "the smallest class has 8 training images, fewer than config.frozen_below_per_class 10: the "
                       "backbone stays frozen and the head alone trains, at config.frozen_learning_rate 0.1"]
    config.update(frozen_below_per_class=8, batch_size=8)
    assert training._fitted_to_the_data(config, dataset) == (config, [])


def test_a_phase_takes_at_least_its_minimum_of_steps():
    """Schedules stated in epochs hold on a few photos: an epoch takes more steps when a phase
    would otherwise end before it began."""
    config = tiny_config("folder:unused", epochs=20, frozen_epochs=5, batch_size=40, init_from="x.h5",
                         min_steps_per_phase=300)
    assert training._steps_per_epoch(config, 40) == 60  # the frozen phase: 5 epochs, 300 steps
    config.frozen_epochs = 0
    assert training._steps_per_epoch(config, 40) == 15  # 20 epochs of every layer, 300 steps
    assert training._steps_per_epoch(config, 40_000) == 1000  # more data: one pass, as before
    config.min_steps_per_phase = 0
    assert training._steps_per_epoch(config, 40) == 1


def test_the_last_epoch_is_kept_unless_an_earlier_one_beats_its_upper_wilson_bound():
    rows = lambda *tops, n=12: [{"epoch": i + 1, "val_top1": top, "val_examples": n} for i, top in enumerate(tops)]
    # 0.75 on 12 images is anywhere up to 0.91: an earlier 0.83 is noise, the last is kept.
    assert kept_epoch(rows(0.5, 0.8333, 0.75)) == 3
    # An earlier 1.0 is above 0.75's upper bound (0.911): it is kept.
    assert kept_epoch(rows(1.0, 0.5, 0.75)) == 1
    # On 3,925 images the interval is narrow (0.849-0.871 around 0.86): two points above it win.
    assert kept_epoch(rows(0.88, 0.86, n=3925)) == 1 and kept_epoch(rows(0.865, 0.86, n=3925)) == 2
    assert kept_epoch([]) is None and kept_epoch(rows(0.4)) == 1


def test_importing_mobilenet_changes_no_environment_variable():
    script = ("import os; before = dict(os.environ); import mobilenet; mobilenet.get_config(); "
              "print(dict(os.environ) == before)")
    result = run_script("-c", script)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("setting", [None, "0"])
def test_commands_turn_onednn_on_unless_the_environment_says(setting, monkeypatch):
    if setting is None:
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    else:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", setting)
    before = dict(os.environ)
    with cli.environment():
        inside = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    x86 = platform.machine().lower() in ("x86_64", "amd64")  # oneDNN's switch is for x86 only
    assert inside == (setting or ("1" if x86 else "unset"))
    assert dict(os.environ) == before  # what a command set is undone when it ends


@pytest.mark.slow  # trains two models
def test_a_second_model_in_the_process_sees_none_of_the_first_ones_settings(image_folder, tmp_path):
    """Mixed precision and a strategy are the first run's alone."""
    from keras.src.backend.tensorflow import trainer as tf_trainer

    keras_reduce = tf_trainer.reduce_per_replica
    first = tiny_config(f"folder:{image_folder}", epochs=1, mixed_precision="mixed_float16", strategy="mirrored")
    training.train(first, str(tmp_path / "first"))
    assert keras.mixed_precision.global_policy().name == "float32"
    training.train(tiny_config(f"folder:{image_folder}", epochs=1), str(tmp_path / "second"))
    second = keras.saving.load_model(tmp_path / "second" / "final.keras", safe_mode=True)
    assert {layer.dtype_policy.name for layer in second.layers} == {"float32"}
    assert not isinstance(second.optimizer, keras.optimizers.LossScaleOptimizer)
    assert tf_trainer.reduce_per_replica is keras_reduce


def test_multi_worker_workarounds_are_undone_when_the_fit_ends():
    """keras-team/keras#20585's workarounds live only as long as a multi-worker fit."""
    import types

    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    keras_reduce = tf_trainer.reduce_per_replica
    # A stand-in model under MultiWorkerMirroredStrategy (a real one needs a fresh process).
    strategy = object.__new__(tf.distribute.MultiWorkerMirroredStrategy)
    model = types.SimpleNamespace(distribute_strategy=strategy)
    with distribution.multi_worker_fit(model):
        assert tf_trainer.reduce_per_replica is not keras_reduce and hasattr(model, "_maybe_symbolic_build")
    assert tf_trainer.reduce_per_replica is keras_reduce and not hasattr(model, "_maybe_symbolic_build")
    with pytest.raises(RuntimeError):  # undone on errors too
        with distribution.multi_worker_fit(model):
            raise RuntimeError
    assert tf_trainer.reduce_per_replica is keras_reduce
