"""Your own photos: both folder layouts, the split made by hash, split.csv, what is left out."""

import csv
import os

import numpy as np
import pytest
import tensorflow as tf

import mobilenet
from mobilenet.data import datasets, folders, input_pipeline

from helpers import tiny_config, write_image_folder


def write_class_folder(root, counts, side=8):
    """root/<class>/<i>.png: `counts` {class: images}, each a tiny PNG of one colour a class."""
    for index, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        pixels = np.zeros((side, side, 3), np.uint8)
        pixels[..., index % 3] = 255
        encoded = tf.io.encode_png(pixels).numpy()
        for i in range(count):
            (root / name / f"{i:04d}.png").write_bytes(encoded)
    return root


def splits_of(folder):
    return {path: split for path, _, split in folder.rows()}


def test_a_folder_of_class_folders_is_split_here_about_the_fraction_of_every_class(tmp_path):
    root = write_class_folder(tmp_path / "photos", {"daisy": 200, "rose": 200, "tulip": 120})
    dataset = datasets.load_dataset(f"folder:{root}")
    assert dataset.class_names == ("daisy", "rose", "tulip")
    assert (dataset.train_split, dataset.eval_split, dataset.test_split) == ("train", "validation", "validation")
    assert dataset.num_examples("train") + dataset.num_examples("validation") == 520
    rows = dataset.folder.rows()
    for name, count in {"daisy": 200, "rose": 200, "tulip": 120}.items():
        held_out = sum(1 for _, class_name, split in rows if class_name == name and split == "validation")
        # Stratified: each class on its own, about 20 % of it (a binomial's spread on 200).
        assert abs(held_out / count - folders.VALIDATION_FRACTION) < 0.07, (name, held_out)
    assert datasets.load_dataset(f"folder:{root}", validation_fraction=0.5).num_examples("validation") > 200
    images, labels = next(iter(input_pipeline.eval_images(dataset, 32, 16)))
    assert images.shape == (16, 32, 32, 3) and images.dtype == tf.uint8


def test_adding_photos_moves_no_photo_already_there(tmp_path):
    root = write_class_folder(tmp_path / "photos", {"daisy": 60, "rose": 60})
    before = splits_of(datasets.load_dataset(f"folder:{root}").folder)
    for i in range(60, 100):
        (root / "rose" / f"{i:04d}.png").write_bytes((root / "rose" / "0000.png").read_bytes())
    (root / "lily").mkdir()
    for i in range(30):
        (root / "lily" / f"{i:04d}.png").write_bytes((root / "rose" / "0000.png").read_bytes())
    after = splits_of(datasets.load_dataset(f"folder:{root}").folder)
    assert len(after) == 120 + 40 + 30
    assert {path: after[path] for path in before} == before


@pytest.mark.slow  # trains
def test_a_split_folder_keeps_its_splits_and_export_evaluates_its_test_split(tmp_path):
    root = write_image_folder(tmp_path / "photos", per_split=(("train", 8), ("val", 4), ("test", 3)))
    dataset = datasets.load_dataset(f"folder:{root}")
    assert (dataset.train_split, dataset.eval_split, dataset.test_split) == ("train", "val", "test")
    assert [dataset.num_examples(split) for split in ("train", "val", "test")] == [24, 12, 9]
    assert dataset.num_examples("train[:50%]") == 12  # TFDS' split expressions work on folders too
    run = mobilenet.train(tiny_config(f"folder:{root}", epochs=1), str(tmp_path / "run"))
    exported = mobilenet.export(run.workdir, threads=(), representative_samples=8)
    assert (exported.report["split"], exported.report["examples"]) == ("test", 9)
    assert "split `test`" in open(exported.card).read()


@pytest.mark.slow  # trains
def test_training_writes_split_csv_says_the_counts_and_leaves_the_folder_as_it_was(tmp_path, capsys):
    root = write_class_folder(tmp_path / "photos", {"daisy": 20, "rose": 20})
    (root / "rose" / "notes.txt").write_text("not a photo")
    (root / "daisy" / "broken.jpg").write_bytes(b"\xff\xd8 half a JPEG")
    listing = lambda: sorted((str(path), path.stat().st_mtime_ns) for path in root.rglob("*"))
    before = listing()
    run = mobilenet.train(tiny_config(f"folder:{root}", epochs=1, batch_size=4), str(tmp_path / "run"))
    mobilenet.export(run.workdir, threads=(), representative_samples=8)
    assert listing() == before  # read, never written

    with open(tmp_path / "run" / "split.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert set(rows[0]) == {"path", "class", "split"} and len(rows) == 40
    assert {row["split"] for row in rows} == {"train", "validation"}
    assert all((root / row["path"]).is_file() and row["path"].startswith(row["class"] + os.sep) for row in rows)
    dataset = datasets.load_dataset(f"folder:{root}")
    assert sum(row["split"] == "validation" for row in rows) == dataset.num_examples("validation")

    printed = capsys.readouterr().out
    train, held_out = dataset.num_examples("train"), dataset.num_examples("validation")
    assert f"folder:{root}: 2 classes; images: train {train}, validation {held_out}; about 20% of each class" in printed
    assert (f"folder:{root}: left out 2 file(s) that are not readable images (JPEG, PNG, BMP, GIF or WebP), "
            "e.g. daisy/broken.jpg") in printed


def test_every_class_of_a_few_photos_keeps_one_on_each_side(tmp_path):
    """Ten photos a class: by hash alone a class in ten holds none out; each still has one."""
    root = write_class_folder(tmp_path / "photos", {f"class{index}": 10 for index in range(12)})
    splits = datasets.load_dataset(f"folder:{root}").folder.splits
    for label in range(12):
        held_out = sum(1 for _, image_label in splits["validation"] if image_label == label)
        assert 1 <= held_out <= 9
    two = write_class_folder(tmp_path / "two", {"daisy": 2, "rose": 20})
    assert [path for path, label in datasets.load_dataset(f"folder:{two}").folder.splits["validation"] if label == 0]


@pytest.mark.parametrize("counts,message", [
    ({"daisy": 1, "rose": 20}, "class daisy has 1 image(s); every class needs at least 2"),
    ({"daisy": 20}, "has one class folder (daisy): a classifier needs at least two"),
])
def test_classes_that_cannot_be_split_are_named(tmp_path, counts, message):
    root = write_class_folder(tmp_path / "photos", counts)
    with pytest.raises(ValueError, match=f"^dataset folder:{root}.*" + message.replace("(", r"\(").replace(")", r"\)")):
        datasets.load_dataset(f"folder:{root}")


def test_an_empty_folder_says_how_to_lay_images_out(tmp_path):
    with pytest.raises(ValueError, match=r"has no class folders: lay images out as PATH/<class>/<image>"):
        datasets.load_dataset(f"folder:{tmp_path}")
