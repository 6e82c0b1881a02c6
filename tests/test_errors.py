"""Bad input, audited: every flag and input file of the commands, and what a bad value gets.

Each case runs a command line in this process, through the command's own `run(argv)`
(TensorFlow is imported once), and checks its one-line error. docs/ERRORS.md is made from the same table, with the messages the
commands really printed:

  python tests/test_errors.py       (rewrites docs/ERRORS.md)

Failures that a command line cannot provoke (a full disk, a diverging loss, a download
without network) are tested elsewhere; COVERED_ELSEWHERE names those tests.
"""

import contextlib
import importlib
import io
import os
import pathlib
import re
import shutil
import sys

import pytest

sys.path[:0] = [str(pathlib.Path(__file__).parent), str(pathlib.Path(__file__).parents[1])]
from helpers import REPO, train_tiny_run, write_image_folder  # noqa: E402

TINY = ["--alpha", "0.25", "--resolution", "32", "--epochs", "1", "--batch_size", "4", "--config.eval_batch_size=4"]

# (command, bad input, arguments, what it gets: a part of the last line of output)
CASES = [
    ("train.py", "--alpha not > 0", ["--alpha", "0"], "alpha must be a number > 0"),
    ("train.py", "--alpha too small for one channel", ["--alpha", "0.01"], "leaves the first layer with 0 channels"),
    ("train.py", "--alpha not a number", ["--alpha", "half"], "flag --alpha=half: could not convert string to float"),
    ("train.py", "--resolution below 32", ["--resolution", "16"], "resolution must be an integer >= 32"),
    ("train.py", "--dataset not in TFDS", ["--dataset", "no_such_dataset"], "is not a TFDS dataset"),
    ("train.py", "--dataset not image classification", ["--dataset", "glue/cola"],
     "is not an image-classification dataset with 'image' and 'label' features"),
    ("train.py", "--dataset folder that does not exist", ["--dataset", "folder:/nowhere"], "no such directory"),
    ("train.py", "--dataset folder of one class folder", ["--dataset", "folder:{flat}"],
     "has one class folder (train): a classifier needs at least two"),
    ("train.py", "--dataset folder with a class of one image", ["--dataset", "folder:{one_image}"],
     "class daisy has 1 image(s); every class needs at least 2"),
    ("train.py", "--config.validation_fraction outside (0, 1)", ["--config.validation_fraction=1"],
     "--config.validation_fraction must be in (0, 1), got 1"),
    ("train.py", "--dataset folder without an evaluation split", ["--dataset", "folder:{no_val}"],
     "needs an evaluation split too: add a val/ (or test/) directory"),
    ("train.py", "--dataset folder with an empty split", ["--dataset", "folder:{empty_val}"],
     "--eval_split 'val' of folder:{empty_val} has no examples"),
    ("train.py", "--train_split that is not a split", ["--dataset", "folder:{folder}", "--train_split", "training",
                                                       "--eval_split", "val"], "--train_split 'training' is not a split"),
    ("train.py", "--train_split without --eval_split", ["--dataset", "folder:{folder}", "--train_split", "train"],
     "--eval_split is needed when --train_split is given"),
    ("train.py", "--train_split that is empty", ["--dataset", "folder:{folder}", "--train_split", "train[:0]",
                                                 "--eval_split", "val"], "has no examples"),
    ("train.py", "--epochs below 1", ["--dataset", "folder:{folder}", "--epochs", "0"], "--epochs must be >= 1"),
    ("train.py", "--batch_size below 1", ["--dataset", "folder:{folder}", "--batch_size", "0"],
     "--batch_size must be >= 1"),
    ("train.py", "--init_from a missing file", ["--dataset", "folder:{folder}", *TINY, "--init_from",
                                                "/no/such/weights.h5"], "no such .h5 or .keras file"),
    ("train.py", "--init_from weights of another width", ["--dataset", "folder:{folder}", *TINY, "--alpha", "0.5",
                                                          "--init_from", "{run}/final.keras", "--workdir", "{tmp}/w"],
     "does not fit MobileNet V1 alpha 0.5"),
    ("train.py", "--init_from a file that is no model", ["--dataset", "folder:{folder}", *TINY,
                                                          "--init_from", "{junk_keras}", "--workdir", "{tmp}/w"],
     "is not a .keras file (a .keras file is a zip archive)"),
    ("train.py", "--init_from a model of another architecture", ["--dataset", "folder:{folder}", *TINY,
                                                                  "--init_from", "{other_keras}", "--workdir", "{tmp}/w"],
     "is a Keras model ('not_mobilenet') but not a MobileNet V1 made by train.py"),
    ("train.py", "--workdir of another run", ["--dataset", "folder:{run_folder}", *TINY, "--alpha", "0.5",
                                              "--workdir", "{run}"], "holds another run (alpha 0.25 -> 0.5)"),
    ("train.py", "--workdir that cannot be written", ["--dataset", "folder:{folder}", "--workdir", "{junk_keras}/run"],
     "cannot be written: Not a directory"),
    ("train.py", "--config that does not exist", ["--config", "/no/such/config.py"],
     "--config: No such file or directory: '/no/such/config.py'"),
    ("train.py", "--config.FIELD that does not exist", ["--config.learning_rat=0.1"],
     'Did you mean "learning_rate" instead of "learning_rat"?'),
    ("train.py", "--config.learning_rate not > 0", ["--config.learning_rate=-1"],
     "--config.learning_rate must be > 0"),
    ("train.py", "--config.optimizer unknown", ["--config.optimizer=adam"], "--config.optimizer must be sgd or rmsprop"),
    ("train.py", "--config.lr_schedule unknown", ["--config.lr_schedule=step"],
     "--config.lr_schedule must be cosine or exponential"),
    ("train.py", "--config.crop_area_min out of (0, 1]", ["--config.crop_area_min=0"],
     "--config.crop_area_min must be in (0, 1]"),
    ("train.py", "--config.randaugment_magnitude negative", ["--config.randaugment_magnitude=-0.5"],
     "--config.randaugment_magnitude must be in [0, 1], got -0.5"),
    ("train.py", "--config.mixup_alpha not > 0", ["--config.mixup=True", "--config.mixup_alpha=0"],
     "--config.mixup_alpha must be > 0, got 0"),
    ("train.py", "--config.ema_momentum outside (0, 1)", ["--config.ema=True", "--config.ema_momentum=1.5"],
     "--config.ema_momentum must be in (0, 1), got 1.5"),
    ("train.py", "--config.mixed_precision unknown", ["--config.mixed_precision=float8"],
     "--config.mixed_precision must be '', mixed_float16 or mixed_bfloat16"),
    ("train.py", "--config.strategy unknown", ["--dataset", "folder:{folder}", "--config.strategy=horovod"],
     "--config.strategy must be default, mirrored, multi_worker or tpu"),
    ("train.py", "--config.variant unknown", ["--config.variant=wide"], "variant"),
    ("train.py", "--config.frozen_epochs without --init_from (conflict)", ["--config.frozen_epochs=2"],
     "--config.frozen_epochs needs --init_from"),
    ("train.py", "--config.adapt_batch_norm without --init_from (conflict)", ["--config.adapt_batch_norm=True"],
     "--config.adapt_batch_norm needs --init_from"),
    ("train.py", "--config.teacher a missing file", ["--dataset", "folder:{folder}", "--config.teacher=/no/such.keras"],
     "--config.teacher /no/such.keras: no such file"),
    ("train.py", "--config.teacher with another number of classes", ["--dataset", "folder:{two_classes}", *TINY,
                                                                     "--config.teacher={run}/best.keras"],
     "gives 3 scores, not one for each of the dataset's 2 classes"),
    ("train.py", "--config.teacher trained on other classes", ["--dataset", "folder:{folder}", *TINY,
                                                               "--config.teacher={other_teacher}/best.keras"],
     "was trained on other classes (cat, dog, fox) than the dataset's (blue, green, red)"),
    ("train.py", "--config.distillation_weight outside [0, 1]", ["--config.distillation_weight=2"],
     "--config.distillation_weight must be in [0, 1], got 2"),
    ("train.py", "--config.distillation_temperature not > 0", ["--config.distillation_temperature=0"],
     "--config.distillation_temperature must be > 0, got 0"),
    ("train.py", "a stray argument", ["--alpha", "0.5", "0.75"], "unexpected arguments: 0.75"),
    ("export_tflite.py", "no --workdir nor --model", [], "give --workdir (a training run), or --model with --dataset"),
    ("export_tflite.py", "--workdir and --model (conflict)", ["--workdir", "{run}", "--model", "{run}/best.keras"],
     "give --workdir or --model, not both"),
    ("export_tflite.py", "--workdir without a trained model", ["--workdir", "/no/such/run"], "holds no trained model"),
    ("export_tflite.py", "--model without --dataset", ["--model", "{run}/best.keras"],
     "give --workdir (a training run), or --model with --dataset"),
    ("export_tflite.py", "--model that is not a Keras file", ["--model", "{junk_keras}", "--dataset", "folder:{folder}"],
     "is not a .keras file (a .keras file is a zip archive)"),
    ("export_tflite.py", "--model of another architecture", ["--model", "{other_keras}", "--dataset", "folder:{folder}"],
     "is a Keras model ('not_mobilenet') but not a MobileNet V1 made by train.py"),
    ("export_tflite.py", "--model with custom code (unsafe)", ["--model", "{lambda_keras}", "--dataset",
                                                                "folder:{folder}"],
     "is not a Keras model of this project"),
    ("export_tflite.py", "--dataset with other classes", ["--model", "{run}/best.keras", "--dataset",
                                                          "folder:{two_classes}"],
     "has 2 classes but the model {run}/best.keras has 3 outputs"),
    ("export_tflite.py", "--quantization unknown", ["--workdir", "{run}", "--quantization", "int4"],
     "--quantization must be one of int8, float16, dynamic, float32, got 'int4'"),
    ("export_tflite.py", "--output_type unknown", ["--workdir", "{run}", "--output_type", "int8"],
     "--output_type must be uint8 or float32, got 'int8'"),
    ("export_tflite.py", "--output_type with a float file (conflict)", ["--workdir", "{run}", "--quantization",
                                                                        "float16", "--output_type", "uint8"],
     "--output_type is for --quantization int8 only"),
    ("export_tflite.py", "--input_type with a float file (conflict)", ["--workdir", "{run}", "--quantization",
                                                                       "float32", "--input_type", "float32"],
     "--input_type is for --quantization int8 only"),
    ("export_tflite.py", "--representative_samples below 1", ["--workdir", "{run}", "--representative_samples", "0"],
     "--representative_samples must be >= 1"),
    ("export_tflite.py", "--output in a missing directory", ["--workdir", "{run}", "--output", "/no/such/dir/m.tflite"],
     "does not exist or cannot be written"),
    ("export_tflite.py", "--resolution below 32", ["--workdir", "{run}", "--resolution", "16"],
     "--resolution must be an integer >= 32"),
    ("export_tflite.py", "--resolution other than the trained one (not an error)",
     ["--workdir", "{run}", "--resolution", "40", "--threads", "", "--output", "{tmp}/at40.tflite"],
     "input 40 pixels, the model trained at 32: the same weights at another size"),
    ("export_tflite.py", "--threads not integers >= 1", ["--workdir", "{run}", "--threads", "0,two"],
     "--threads takes integers >= 1, comma-separated, got 0,two"),
    ("export_tflite.py", "--target unknown", ["--workdir", "{run}", "--target", "watch"],
     "flag --target=watch: value should be one of <phone|micro>"),
    ("export_tflite.py", "--target micro with --quantization (conflict)", ["--workdir", "{run}", "--target", "micro",
                                                                          "--quantization", "float16"],
     "--target micro is int8 with int8 input and output: leave out --quantization (got float16)"),
    ("export_tflite.py", "--target micro with --input_type (conflict)", ["--workdir", "{run}", "--target", "micro",
                                                                        "--input_type", "uint8"],
     "--target micro is int8 with int8 input and output: leave out --input_type (got uint8)"),
    ("mobilenet evaluate", "--tflite missing", ["--tflite", "/no/such.tflite", "--dataset", "folder:{folder}"],
     "--tflite /no/such.tflite: no such file"),
    ("mobilenet evaluate", "--tflite not a flatbuffer", ["--tflite", "{junk_keras}", "--dataset", "folder:{folder}"],
     "is not a TFLite flatbuffer (no TFL3 identifier)"),
    ("mobilenet evaluate", "--tflite cut short", ["--tflite", "{truncated_tflite}", "--dataset", "folder:{folder}"],
     "is not a complete TFLite model"),
    ("mobilenet evaluate", "--dataset whose classes do not map to the outputs",
     ["--tflite", "{run_tflite}", "--dataset", "folder:{two_classes}"],
     "the dataset's classes (cat, dog) are not the model's (blue, green, red)"),
    ("mobilenet evaluate", "--split that is not a split", ["--tflite", "{run_tflite}", "--dataset", "folder:{folder}",
                                                           "--split", "test"], "--split 'test' is not a split"),
    ("mobilenet evaluate", "--threads below 1", ["--tflite", "{run_tflite}", "--dataset", "folder:{folder}",
                                                 "--threads", "0"], "--threads takes integers >= 1, got 0"),
    ("mobilenet evaluate", "--json in a missing directory", ["--tflite", "{run_tflite}", "--dataset", "folder:{folder}",
                                                             "--json", "/no/such/dir/out.json"],
     "--json /no/such/dir/out.json: directory /no/such/dir does not exist or cannot be written"),
    ("mobilenet benchmark", "--per_layer on a file not made here", ["--tflite", "{run_tflite}", "--per_layer"],
     "is not a MobileNet made here (no training run's best.keras beside it): give its .keras model as --model"),
    ("mobilenet benchmark", "--tflite not a flatbuffer", ["--tflite", "{junk_keras}"], "is not a TFLite flatbuffer"),
    ("mobilenet benchmark", "--threads below 1", ["--tflite", "{run_tflite}", "--threads", "0"],
     "--threads takes integers >= 1"),
    ("mobilenet benchmark", "--runs below 1", ["--tflite", "{run_tflite}", "--runs", "0"],
     "--runs must be >= 1, got 0"),
    ("mobilenet predict", "no image given", ["--tflite", "{run_tflite}"], "give one or more image files"),
    ("mobilenet predict", "an image that is not one", ["--tflite", "{run_tflite}", "{junk_keras}"],
     "is not a readable image"),
    ("mobilenet predict", "--labels with the wrong count", ["--tflite", "{run_tflite}", "--labels", "{two_labels}",
                                                            "{an_image}"], "has 2 names for 3 outputs"),
    ("mobilenet costs", "--alpha not numbers", ["--alpha", "0.5,big"], "--alpha takes numbers > 0, got 0.5,big"),
    ("mobilenet costs", "--resolution below 32", ["--resolution", "16"], "resolution must be an integer >= 32"),
    ("mobilenet costs", "--variant unknown", ["--variant", "wide"],
     "--variant must be one of standard, shallow, full_conv, got 'wide'"),
    ("mobilenet sweep", "--alphas not numbers", ["--alphas", "0.5,x"], "--alphas takes numbers > 0, got 0.5,x"),
    ("mobilenet sweep", "--resolutions below 32", ["--resolutions", "16"], "--resolutions must be an integer >= 32"),
    ("mobilenet sweep", "--latency_budget_ms not > 0", ["--latency_budget_ms", "0"],
     "--latency_budget_ms must be > 0, got 0"),
    ("mobilenet sweep", "--threads below 1", ["--threads", "0"], "--threads takes integers >= 1, got 0"),
    ("mobilenet sweep", "--grid unknown", ["--grid", "half"], "--grid must be full or paper, got 'half'"),
    ("mobilenet sweep", "--accuracy_source published for a grid point without one",
     ["--accuracy_source", "published", "--alphas", "0.3", "--resolutions", "128"],
     "--accuracy_source published: no published ImageNet top-1 for alpha 0.3, resolution 128"),
    ("mobilenet sweep", "--doubled with published accuracy (conflict)", ["--accuracy_source", "published", "--doubled"],
     "--doubled is for trained accuracy: published accuracy has no epochs to double"),
    ("mobilenet sweep", "--resolutions all above the data's own, with --grid paper",
     ["--dataset", "folder:{folder}", "--grid", "paper", "--resolutions", "96,128", "--out", "{tmp}/sweep_paper"],
     "--resolutions 96,128 are all above the data's own resolution (48 pixels)"),
    ("mobilenet sweep", "--latency_budget_ms that no model meets",
     ["--dataset", "folder:{folder}", "--alphas", "0.25", "--resolutions", "32", "--epochs", "1",
      "--config.batch_size=4", "--config.eval_batch_size=4", "--out", "{tmp}/sweep", "--latency_budget_ms", "0.000001"],
     "--latency_budget_ms 1e-06: no model fits; the fastest takes"),
    ("mobilenet sweep", "--target unknown", ["--target", "watch"], "--target must be phone or micro, got 'watch'"),
    ("mobilenet sweep", "--ram_budget_kb without --target micro", ["--ram_budget_kb", "256"],
     "--ram_budget_kb is a budget of a microcontroller build: add --target micro"),
    ("mobilenet sweep", "--ram_budget_kb and --flash_budget_kb without --target micro",
     ["--ram_budget_kb", "256", "--flash_budget_kb", "1024"],
     "--ram_budget_kb and --flash_budget_kb are budgets of a microcontroller build: add --target micro"),
    ("mobilenet sweep", "--flash_budget_kb not > 0", ["--target", "micro", "--flash_budget_kb", "0"],
     "--flash_budget_kb must be > 0, got 0"),
    ("mobilenet sweep", "--num_classes with trained accuracy", ["--num_classes", "10"],
     "--num_classes is for published accuracy: a trained model has its dataset's classes"),
    ("mobilenet sweep", "--num_classes below 2", ["--accuracy_source", "published", "--num_classes", "1"],
     "--num_classes must be an integer >= 2 (a classifier's classes), got 1"),
    ("mobilenet sweep", "--ram_budget_kb and --flash_budget_kb that no model meets",
     ["--accuracy_source", "published", "--target", "micro", "--alphas", "0.25", "--resolutions", "32",
      "--num_classes", "3", "--ram_budget_kb", "1", "--flash_budget_kb", "1", "--out", "{tmp}/sweep_micro"],
     "--ram_budget_kb 1, --flash_budget_kb 1: no model fits; the smallest arena is"),
]

# (command, bad input, what it gets, the test that shows it)
COVERED_ELSEWHERE = [
    ("train.py", "a full disk while writing", "No space left on device: <file>; the last finished epoch is kept",
     "tests/test_training.py::test_full_disk_stops_with_a_message_and_loses_no_finished_epoch"),
    ("train.py", "a learning rate that makes the loss NaN", "lower --config.learning_rate",
     "tests/test_training.py::test_nan_loss_stops_training_with_a_message"),
    ("train.py", "SIGTERM (or SIGINT) in the middle of an epoch",
     "stopped by SIGTERM after epoch E and step S of epoch E+1, saved in <checkpoint>: run the same command again "
     "to resume from there (exit status 143; 130 for SIGINT)",
     "tests/test_chaos.py::test_sigterm_stops_after_the_step_with_a_checkpoint_and_the_resumed_run_ends_as_an_uninterrupted_one"),
    ("train.py", "killed (SIGKILL), in an epoch or while writing a checkpoint",
     "the same command resumes from the last checkpoint; a half-written one is removed",
     "tests/test_chaos.py::test_sigkill_resumes_from_the_last_checkpoint_and_clears_what_the_kill_left"),
    ("train.py", "the newest checkpoint truncated or corrupt",
     "Checkpoint <file> does not load (...): set aside as <file>.corrupt; trying the one before it",
     "tests/test_chaos.py::test_a_truncated_newest_checkpoint_falls_back_to_the_one_before"),
    ("train.py", "no checkpoint that loads", "--workdir <dir>: no checkpoint loads (each is set aside as *.corrupt): "
     "start over in another --workdir, or delete this one",
     "tests/test_chaos.py::test_no_loadable_checkpoint_says_what_to_do"),
    ("train.py", "a second run on the same --workdir", "--workdir <dir> is in use: process <pid> is training in it; "
     "wait for it to end, or choose another --workdir",
     "tests/test_chaos.py::test_a_second_run_on_the_same_directory_is_refused"),
    ("train.py", "a worker of a multi-worker job killed", "the restarted job resumes after the last finished epoch",
     "tests/test_distributed.py::test_job_with_a_killed_worker_resumes_when_restarted"),
    ("train.py", "--dataset not prepared in --data_dir, no network", "is not prepared in --data_dir",
     "tests/test_input_pipeline.py::test_download_failure_message_says_where_to_point_data_dir"),
    ("train.py", "grayscale, RGBA or palette images", "converted to RGB (not an error)",
     "tests/test_input_pipeline.py::test_a_split_folder_gives_its_classes_and_every_format_as_rgb"),
    ("train.py", "--dataset folder holding files that are not images (corrupt, cut short, anything else)",
     "folder:<path>: left out <n> file(s) that are not readable images (JPEG, PNG, BMP, GIF or WebP), e.g. <file> "
     "(not an error: the rest train)",
     "tests/test_folders.py::test_training_writes_split_csv_says_the_counts_and_leaves_the_folder_as_it_was"),
    ("export_tflite.py", "--target micro without TensorFlow Lite Micro (tflite-micro) installed",
     "--target micro needs TensorFlow Lite Micro's Python interpreter: pip install '.[micro]' (the tflite-micro "
     "wheel); nothing is written",
     "tests/test_micro.py::test_micro_without_tflite_micro_says_so_in_one_line_and_writes_nothing"),
    ("train.py", "--batch_size above the train split", "config.batch_size 1000 is larger than the 24 training images: "
     "batches of 24 (not an error: a notice)",
     "tests/test_training.py::test_a_batch_larger_than_the_data_is_capped_with_a_notice"),
]


# The command module behind each command line.
COMMANDS = {"train.py": "train", "export_tflite.py": "export", "mobilenet evaluate": "evaluate",
            "mobilenet benchmark": "benchmark", "mobilenet predict": "predict", "mobilenet costs": "costs",
            "mobilenet sweep": "sweep"}


def run_command(command, args, working_directory):
    """Runs `command` as `python command args` would, in this process, from
    `working_directory`; returns (exit code, stdout, stderr)."""
    module = importlib.import_module(f"mobilenet.commands.{COMMANDS[command]}")
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    directory = os.getcwd()
    os.chdir(working_directory)  # where train.py's default runs/ would go
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            module.run([command, *args])
    except SystemExit as exit:
        if isinstance(exit.code, str):
            stderr.write(exit.code + "\n")  # what Python prints for sys.exit("message")
            code = 1
        else:
            code = exit.code or 0
    finally:
        os.chdir(directory)
    return code, stdout.getvalue(), stderr.getvalue()


def make_inputs(root, tiny_run):
    """The files the cases name, made under `root` (the run a copy of `tiny_run`): {name: path}."""
    import keras

    from mobilenet.exporting import release

    root.mkdir(exist_ok=True)
    paths = {"tmp": root / "tmp", "folder": write_image_folder(root / "folder")}  # the tiny run's classes
    paths["tmp"].mkdir()
    for name in ("no_val", "empty_val"):
        paths[name] = write_image_folder(root / name)
    for name, count in (("one_image", 1),):
        paths[name] = root / name
        for class_name, images in (("daisy", count), ("rose", 20)):
            (paths[name] / class_name).mkdir(parents=True)
            for i in range(images):
                shutil.copy(next((paths["folder"] / "train" / "red").glob("*.jpg")), paths[name] / class_name / f"{i:04d}.png")
    for directory in (paths["no_val"] / "val", *(paths["empty_val"] / "val").iterdir()):
        for image in directory.rglob("*.*"):
            image.unlink()
    for directory in (paths["no_val"] / "val").iterdir():
        directory.rmdir()
    (paths["no_val"] / "val").rmdir()
    paths["flat"] = root / "flat"
    (paths["flat"] / "train").mkdir(parents=True)
    (paths["flat"] / "train" / "a.jpg").write_bytes(b"")
    paths["two_classes"] = write_image_folder(root / "two_classes", classes=("cat", "dog"))

    paths["run"] = pathlib.Path(shutil.copytree(tiny_run[0], root / "run"))
    paths["run_folder"] = tiny_run[1]  # the run's own dataset
    release.export(str(paths["run"]), output=str(root / "run.tflite"), evaluate=False, threads=(),
                   representative_samples=8)
    paths["run_tflite"] = root / "run.tflite"
    paths["other_teacher"] = root / "other_teacher"  # the run's model, with labels of other classes beside it
    paths["other_teacher"].mkdir()
    shutil.copy(paths["run"] / "best.keras", paths["other_teacher"])
    (paths["other_teacher"] / "labels.txt").write_text("cat\ndog\nfox\n")
    paths["truncated_tflite"] = root / "cut.tflite"
    paths["truncated_tflite"].write_bytes(paths["run_tflite"].read_bytes()[:2000])
    paths["junk_keras"] = root / "junk.keras"
    paths["junk_keras"].write_text("this is not a model")
    inputs = keras.Input((32, 32, 3))
    other = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs)),
                        name="not_mobilenet")
    paths["other_keras"] = root / "other.keras"
    other.save(paths["other_keras"])
    # A Lambda layer holds Python bytecode: safe mode must refuse to run it.
    unsafe = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs), name="mobilenet_v1_lambda")
    paths["lambda_keras"] = root / "lambda.keras"
    unsafe.save(paths["lambda_keras"])
    paths["two_labels"] = root / "two_labels.txt"
    paths["two_labels"].write_text("a\nb\n")
    paths["an_image"] = next((paths["folder"] / "val" / "blue").iterdir())
    return {name: str(path) for name, path in paths.items()}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tiny_run):
    return make_inputs(tmp_path_factory.mktemp("inputs"), tiny_run)


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def outcome(command, args, inputs):
    """(exit code, the line that says what happened) of one case."""
    code, stdout, stderr = run_command(command, [arg.format(**inputs) for arg in args], inputs["tmp"])
    if code == 0:
        return code, next((line for line in stdout.splitlines() if "input " in line), last_line(stdout))
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    return code, (errors[-1] if errors else last_line(stderr))


# Cases that run a whole (published) sweep before their error: end to end, so in the slow tier.
SWEEPS = ("--latency_budget_ms that no model meets", "--ram_budget_kb and --flash_budget_kb that no model meets")


@pytest.mark.parametrize("command,what,args,message",
                         [pytest.param(*case, marks=[pytest.mark.slow] * (case[1] in SWEEPS)) for case in CASES],
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input_gets_a_one_line_error(command, what, args, message, inputs):
    root = pathlib.Path(inputs["folder"]).parent
    before = {path for path in root.rglob("*") if path.is_file()}
    code, line = outcome(command, args, inputs)
    message = message.format(**inputs)
    assert message in line, line
    after = {path for path in root.rglob("*") if path.is_file()}
    assert not [path for path in after if "partial" in path.name]
    if "(not an error)" in what:
        assert code == 0
    else:
        assert code != 0 and "Traceback" not in line
        # Nothing written, but (by the sweep) its tables.
        assert not [path for path in after - before if not str(path).startswith(inputs["tmp"] + "/sweep")]


def test_errors_doc_is_up_to_date():
    """docs/ERRORS.md has a row for every case, and names only tests that exist."""
    doc = (REPO / "docs" / "ERRORS.md").read_text()
    for command, what, _, message in CASES:
        assert f"| `{command}` | {what} |" in doc and message.replace("|", "\\|") in doc, (command, what)
    for command, what, message, test in COVERED_ELSEWHERE:
        path, name = test.split("::")
        assert f"def {name}(" in (REPO / path).read_text() and f"| {what} |" in doc and test in doc, test


def write_doc(path):
    import tempfile

    from mobilenet import files

    with tempfile.TemporaryDirectory() as root:
        inputs = make_inputs(pathlib.Path(root) / "inputs", train_tiny_run(pathlib.Path(root)))
        rows = []
        for command, what, args, _ in CASES:
            code, line = outcome(command, args, inputs)
            for name, value in sorted(inputs.items(), key=lambda item: -len(item[1])):
                line = line.replace(value, "{" + name + "}")
            line = re.sub(r"\s+", " ", line).replace("|", "\\|")
            example = " ".join(args).replace("|", "\\|") or "(no flags)"
            rows.append(f"| `{command}` | {what} | `{example}` | {line} |")
    lines = [
        "# Bad input, and what it gets",
        "",
        "Every flag and input file of the command-line tools, each with a bad value and the line the",
        "command printed for it (exit status 1, nothing half-written). Made by `python tests/test_errors.py`,",
        "which runs each case; `make test` runs them all again (tests/test_errors.py). `{folder}` and the",
        "like stand for files the test makes: a folder dataset of 3 classes, a trained tiny run, a text file",
        "named `.keras`, a Keras model of another architecture, one with a Lambda layer.",
        "",
        "Model files are loaded with Keras `safe_mode=True`: a `.keras` file holding Python code (a Lambda",
        "layer) is refused, not run.",
        "",
        "| Command | Bad input | Example | What it gets |",
        "|---|---|---|---|",
        *rows,
        "",
        "## Failures shown by other tests",
        "",
        "| Command | Bad input | What it gets | Test |",
        "|---|---|---|---|",
        *[f"| `{command}` | {what} | {message} | {test} |" for command, what, message, test in COVERED_ELSEWHERE],
    ]
    files.write_atomically(path, "\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    os.chdir(REPO)
    write_doc(REPO / "docs" / "ERRORS.md")
