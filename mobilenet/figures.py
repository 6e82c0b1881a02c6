"""Every picture the library draws: a model card's confusion matrix, confident mistakes,
training curves and latency by block, and a sweep's accuracy against latency. The one module
that imports matplotlib; its Figure without pyplot: no process-wide backend or state."""

import matplotlib
import numpy as np
from matplotlib import ticker, transforms
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


MARKERS = "osD^vP*X"


def accuracy_trade_off(rows, accuracy, x_key, x_label, front, path, budget=None, earlier=None, budget_unit="ms"):
    """A sweep's `accuracy` against `x_key` on a log axis in plain numbers: one colour per α,
    one marker per ρ, each point labelled (↑ where its images are upsampled), the Pareto front
    `front` (rows) and the `budget` (in `budget_unit`, on the x axis) drawn; `earlier`, the
    same models' rows at a shorter budget, hollow, each joined to its point. Rows without an
    accuracy (None) are grey crosses on the bottom edge, at their x."""
    unranked = [row for row in rows if row[accuracy] is None]
    rows = [row for row in rows if row[accuracy] is not None]
    figure = Figure(figsize=(8, 5.5))
    axes = figure.subplots()
    if not rows:
        axes.text(0.5, 0.5, f"none of the {len(unranked)} models has a published top-1", ha="center",
                  transform=axes.transAxes)
        axes.set_axis_off()
        return _save(figure, path)
    # Models without an accuracy: grey crosses on the bottom edge, at their x, labelled.
    bottom = transforms.blended_transform_factory(axes.transData, axes.transAxes)
    for index, row in enumerate(sorted(unranked, key=lambda row: row[x_key])):
        axes.plot(row[x_key], 0.03, "x", color="gray", transform=bottom, clip_on=False)
        axes.annotate(f"{row['alpha']:g}-{row['resolution']}", (row[x_key], 0.03), xycoords=bottom,
                      textcoords="offset points", xytext=(4, 3 + 9 * (index % 2)), fontsize=7, color="gray")
    alphas = sorted({row["alpha"] for row in rows})
    markers = dict(zip(sorted({row["resolution"] for row in rows}), MARKERS))
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.8, len(alphas)))  # no pale yellow on white
    labels = []  # (x, y, text, whether above the point keeps it off its α's line)
    for alpha, color in zip(alphas, colors):
        points = sorted((row for row in rows if row["alpha"] == alpha), key=lambda row: row[x_key])
        axes.plot([row[x_key] for row in points], [100 * row[accuracy] for row in points], ":", color=color,
                  label=f"α {alpha:g}")
        for index, row in enumerate(points):
            axes.plot(row[x_key], 100 * row[accuracy], markers[row["resolution"]], color=color, markersize=7)
            # Where its α's line rises to the right, a label there goes below the point.
            above = index + 1 == len(points) or points[index + 1][accuracy] < row[accuracy]
            labels.append((row[x_key], 100 * row[accuracy],
                           f"{row['alpha']:g}-{row['resolution']}{'↑' if row.get('upsampled') else ''}", above))
        for before in (row for row in earlier or [] if row["alpha"] == alpha):
            after = next(row for row in points if row["resolution"] == before["resolution"])
            axes.plot([before[x_key], after[x_key]], [100 * before[accuracy], 100 * after[accuracy]], "-", color=color,
                      linewidth=0.8, alpha=0.5)
            axes.plot(before[x_key], 100 * before[accuracy], markers[before["resolution"]], color=color, markersize=7,
                      markerfacecolor="white")
    for resolution, marker in markers.items():
        axes.plot([], [], marker, color="gray", label=f"ρ {resolution}")
    if earlier:
        axes.plot([], [], "o", color="gray", markerfacecolor="white",
                  label=f"at {earlier[0]['epochs']} epochs (filled: {rows[0]['epochs']})")
    if any(row.get("upsampled") for row in rows):
        axes.plot([], [], " ", label="↑ upsampled images")
    axes.step([row[x_key] for row in front], [100 * row[accuracy] for row in front], "r-", where="post", alpha=0.5,
              label="Pareto front")
    if unranked:
        axes.plot([], [], "x", color="gray", label="no published top-1 (on the bottom edge)")
    if budget is not None:
        axes.axvline(budget, color="black", linestyle="--", linewidth=1, label=f"budget {budget:g} {budget_unit}")
    axes.set_xscale("log")
    for axis_formatter in (axes.xaxis.set_major_formatter, axes.xaxis.set_minor_formatter):
        axis_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))  # 0.3, not 3×10⁻¹
    axes.set_xlabel(x_label)
    axes.set_ylabel("published ImageNet top-1 (%)" if accuracy == "published_top1" else "int8 top-1 (%)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    if unranked:  # room on the bottom edge for them
        low, high = axes.get_ylim()
        axes.set_ylim(low - 0.08 * (high - low), high)
    figure.tight_layout()
    place_labels(figure, axes, labels)
    with files.atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=120)


def place_labels(figure, axes, labels, size=7):
    """Annotates each (x, y, text, above) at the first of four places beside its point (right
    above or below, its `above` side first, then left) where it overlaps no label placed before
    it and no point; the first place when none is free."""
    axes.autoscale_view()  # the data limits are final: pixels can be computed
    pixels_per_point = figure.dpi / 72
    points = axes.transData.transform([(x, y) for x, y, _, _ in labels])
    taken = []
    for (x, y, text, above), (point_x, point_y) in zip(labels, points):
        width, height = 0.6 * size * len(text), size  # in points, for a sans-serif font
        offsets = [(5, 6), (5, -12)] if above else [(5, -12), (5, 6)]
        offsets += [(-5 - width, 6), (-5 - width, -12)]
        boxes = [(point_x + dx * pixels_per_point, point_y + dy * pixels_per_point,
                  point_x + (dx + width) * pixels_per_point, point_y + (dy + height) * pixels_per_point)
                 for dx, dy in offsets]
        margin = size / 2 * pixels_per_point  # a marker's radius

        def free(box):
            return (all(box[2] <= other[0] or other[2] <= box[0] or box[3] <= other[1] or other[3] <= box[1]
                        for other in taken)
                    and not any(box[0] - margin < px < box[2] + margin and box[1] - margin < py < box[3] + margin
                                for px, py in points))

        choice = next((index for index, box in enumerate(boxes) if free(box)), 0)
        taken.append(boxes[choice])
        axes.annotate(text, (x, y), textcoords="offset points", xytext=offsets[choice], fontsize=size)
