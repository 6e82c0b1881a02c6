"""What a sweep's rows say: the Pareto front, the pick within a latency budget, whether a
model had converged, and the inversions along the paper's axes. Pure functions of rows
(dicts with alpha, resolution, latency_median_ms and an accuracy key).
"""

import numpy as np

# Not converged: validation top-1 rose by more than this over the last fraction of epochs.
CONVERGENCE_GAIN, CONVERGENCE_WINDOW = 0.01, 0.2


def accuracy_key(rows):
    return "published_top1" if rows and "published_top1" in rows[0] else "int8_top1"


def select(rows, latency_budget_ms, accuracy="int8_top1"):
    """The most accurate row whose median latency is within the budget (None if none is)."""
    within = [row for row in rows if row["latency_median_ms"] <= latency_budget_ms]
    return max(within, key=lambda row: (row[accuracy], -row["latency_median_ms"]), default=None)


def budget_sentence(selected, latency_budget_ms, rows):
    accuracy = accuracy_key(rows)
    sentence = (f"within {latency_budget_ms:g} ms: alpha {selected['alpha']:g}, resolution {selected['resolution']}, "
                f"{accuracy.replace('_', ' ')} {selected[accuracy]:.4f}, {selected['latency_median_ms']:.3f} ms")
    unconverged = [row for row in rows if row.get("converged") is False and row["latency_median_ms"] <= latency_budget_ms]
    if unconverged:
        sentence += (f"; {len(unconverged)} of the models within the budget had not converged, so this pick may "
                     "change with more epochs")
    return sentence


def pareto_front(rows, x_key, accuracy="int8_top1"):
    """The rows no other row beats on both `x_key` (lower) and accuracy (higher), by x."""
    front = []
    for row in sorted(rows, key=lambda row: (row[x_key], -row[accuracy])):
        if not front or row[accuracy] > front[-1][accuracy]:
            front.append(row)
    return front


def convergence(curve):
    """(the gain of validation top-1 over the last CONVERGENCE_WINDOW of the epochs, whether
    that gain is at most CONVERGENCE_GAIN). Fewer than two epochs: (nan, False)."""
    window = max(1, int(np.ceil(CONVERGENCE_WINDOW * len(curve))))
    if len(curve) <= window:
        return float("nan"), False
    gain = float(curve[-1] - curve[-1 - window])
    return gain, gain <= CONVERGENCE_GAIN


def inversions(rows, accuracy="int8_top1"):
    """[(smaller row, larger row)] of neighbours along the paper's axes (ρ at one α, α at
    one ρ) where the larger model scores lower."""
    found = []
    for axis, other in (("resolution", "alpha"), ("alpha", "resolution")):
        for value in sorted({row[other] for row in rows}):
            line = sorted((row for row in rows if row[other] == value), key=lambda row: row[axis])
            found += [(small, large) for small, large in zip(line, line[1:]) if large[accuracy] < small[accuracy]]
    return found


def neighbour_pairs(rows):
    return sum(len({row[axis] for row in rows if row[other] == value}) - 1
               for axis, other in (("resolution", "alpha"), ("alpha", "resolution"))
               for value in {row[other] for row in rows})
