"""Where a classifier fails: the confusion matrix and per-class precision, recall and F1.

Pure NumPy on label indices. A matrix has a row per true class and a column per
predicted class, in label order; a model with outputs outside the dataset's classes
(Google's 1001-class files on Imagenette) gets one more column, OTHER, for those.
"""

import numpy as np

OTHER = "(other)"


def confusion_matrix(true, predicted, num_classes, other_column=False):
    """counts[t, p]: how many images of class t were predicted p (p = num_classes is OTHER)."""
    counts = np.zeros((num_classes, num_classes + bool(other_column)), np.int64)
    np.add.at(counts, (np.asarray(true), np.asarray(predicted)), 1)
    return counts


def per_class(matrix, class_names):
    """[{class, precision, recall, f1, support}] per true class (0.0 where undefined)."""
    true_positives = np.diag(matrix[:, : len(class_names)])
    predicted = matrix.sum(axis=0)[: len(class_names)]
    support = matrix.sum(axis=1)
    rows = []
    for index, name in enumerate(class_names):
        precision = true_positives[index] / predicted[index] if predicted[index] else 0.0
        recall = true_positives[index] / support[index] if support[index] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"class": name, "precision": float(precision), "recall": float(recall), "f1": float(f1),
                     "support": int(support[index])})
    return rows


def macro_average(rows):
    """The unweighted mean of precision, recall and F1 over the classes."""
    return {key: float(np.mean([row[key] for row in rows])) for key in ("precision", "recall", "f1")}


def top_confusions(matrix, class_names, count=5):
    """[(true class, predicted class, images)] of the most frequent mistakes."""
    columns = list(class_names) + [OTHER] * (matrix.shape[1] - len(class_names))
    mistakes = matrix.copy()
    np.fill_diagonal(mistakes[:, : len(class_names)], 0)
    order = np.argsort(-mistakes, axis=None, kind="stable")[:count]
    return [(class_names[t], columns[p], int(mistakes[t, p])) for t, p in zip(*np.unravel_index(order, mistakes.shape))
            if mistakes[t, p]]


def recall_changes(quantized_rows, float_rows, count=5):
    """[(class, float recall, quantized recall)] of the classes whose recall fell most."""
    pairs = [(q["class"], f["recall"], q["recall"]) for q, f in zip(quantized_rows, float_rows)]
    return sorted(pairs, key=lambda pair: pair[2] - pair[1])[:count]
