"""The pictures of a model card: confusion matrix, confident mistakes, training curves,
latency by block. matplotlib's Figure without pyplot: no process-wide backend or state."""

import numpy as np
from matplotlib.figure import Figure

from mobilenet import files

MAX_MATRIX_CLASSES = 40  # above it, a matrix is unreadable: the card lists the top confusions


def _save(figure, path):
    figure.tight_layout()
    with files.atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=110)
    return path


def confusion_matrix(matrix, row_names, column_names, path, title):
    """Counts and row-normalised shares side by side; None (nothing written) above
    MAX_MATRIX_CLASSES classes."""
    if len(row_names) > MAX_MATRIX_CLASSES:
        return None
    side = 3 + 0.32 * len(column_names)
    figure = Figure(figsize=(2 * side + 1, side))
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    for axes, values, label, text in zip(figure.subplots(1, 2), (matrix, shares), ("images", "share of the true class"),
                                         ("{:.0f}", "{:.2f}")):
        image = axes.imshow(values, cmap="Blues")
        figure.colorbar(image, ax=axes, fraction=0.046, label=label)
        axes.set_xticks(range(len(column_names)), column_names, rotation=60, ha="right", fontsize=7)
        axes.set_yticks(range(len(row_names)), row_names, fontsize=7)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        if len(column_names) <= 15:
            for (row, column), value in np.ndenumerate(values):
                if matrix[row, column]:
                    axes.text(column, row, text.format(value), ha="center", va="center", fontsize=6,
                              color="white" if values[row, column] > values.max() / 2 else "black")
    figure.suptitle(title)
    return _save(figure, path)


def mistakes(examples, path, names, columns=4):
    """A grid of thumbnails, each titled with its true and predicted class (as `names`
    shows a class) and the score. `examples`: evaluation.Mistake objects. None (nothing
    written) when there are none."""
    if not examples:
        return None
    rows = -(-len(examples) // columns)
    figure = Figure(figsize=(3 * columns, 3.2 * rows))
    for index, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        axes.axis("off")
        if index < len(examples):
            example = examples[index]
            axes.imshow(example.pixels)
            axes.set_title(f"true: {names[example.true]}\npredicted: {names[example.predicted]} ({example.score:.2f})",
                           fontsize=8)
    return _save(figure, path)


def training_curves(history, path, title):
    """Training and validation top-1, and the loss, by epoch (history.csv's rows)."""
    figure = Figure(figsize=(10, 3.8))
    accuracy, loss = figure.subplots(1, 2)
    epochs = [row["epoch"] for row in history]
    for key, label in (("top1", "training top-1"), ("val_top1", "validation top-1")):
        accuracy.plot(epochs, [100 * row.get(key, np.nan) for row in history], label=label)
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        loss.plot(epochs, [row.get(key, np.nan) for row in history], label=label)
    for axes, label in ((accuracy, "top-1 (%)"), (loss, "loss")):
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    return _save(figure, path)


def block_latency(rows, path, title):
    """Each block's share of the latency beside its share of the mult-adds (layer_latency rows)."""
    figure = Figure(figsize=(11, 4))
    axes = figure.subplots()
    positions = np.arange(len(rows))
    thread_counts = [key for key in rows[0] if key.startswith("latency_share_")]
    width = 0.8 / (len(thread_counts) + 1)
    axes.bar(positions - 0.4 + width / 2, [100 * row["mult_adds_share"] for row in rows], width, label="mult-adds")
    for offset, key in enumerate(thread_counts, 1):
        axes.bar(positions - 0.4 + width / 2 + offset * width, [100 * row[key] for row in rows], width,
                 label=f"latency, {key.rsplit('_', 1)[1]} thread(s)")
    axes.set_xticks(positions, [row["block"] for row in rows], rotation=45, ha="right", fontsize=8)
    axes.set_ylabel("share of the whole model (%)")
    axes.axhline(0, color="black", linewidth=0.5)
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend()
    axes.set_title(title)
    return _save(figure, path)
