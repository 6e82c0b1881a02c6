"""What a sweep's rows say: the Pareto front, the pick within a latency budget, the inversions
along the paper's axes, and whether a ranking holds when every model trains twice as long.
Pure functions of rows (dicts with alpha, resolution, latency_median_ms and an accuracy key).
"""

import itertools
import math


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
    if selected.get("upsampled"):
        sentence += (f"; ρ {selected['resolution']} is above the data's own resolution, so its images are only "
                     "upsampled: a smaller ρ at another α may do as well")
    return sentence


def pareto_front(rows, x_key, accuracy="int8_top1"):
    """The rows no other row beats on both `x_key` (lower) and accuracy (higher), by x."""
    front = []
    for row in sorted(rows, key=lambda row: (row[x_key], -row[accuracy])):
        if not front or row[accuracy] > front[-1][accuracy]:
            front.append(row)
    return front


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


def kendall_tau(first, second):
    """Kendall's tau-b between two scorings of the same items: 1 when they rank every pair
    alike, -1 when they rank every pair the other way; ties count as neither."""
    concordant = discordant = tied_first = tied_second = 0
    for i, j in itertools.combinations(range(len(first)), 2):
        a, b = first[i] - first[j], second[i] - second[j]
        if a == 0 and b == 0:
            continue
        if a == 0:
            tied_first += 1
        elif b == 0:
            tied_second += 1
        elif (a > 0) == (b > 0):
            concordant += 1
        else:
            discordant += 1
    pairs = math.sqrt((concordant + discordant + tied_first) * (concordant + discordant + tied_second))
    return (concordant - discordant) / pairs if pairs else float("nan")


def compare_budgets(shorter, longer, accuracy="int8_top1"):
    """How a grid's verdict changes when every model trains twice as long: `shorter` and
    `longer` are the rows of the same models at E and 2E epochs.

    Returns a dict: changes [(row at E, row at 2E)] by model; inversions at each; tau (Kendall's,
    of the two rankings by accuracy); ranking_holds (tau 1: every pair ranked alike); fronts at
    each (the models on the accuracy-versus-latency front, as (α, ρ)); front_holds.
    """
    key = lambda row: (row["alpha"], row["resolution"])
    at_longer = {key(row): row for row in longer}
    if set(at_longer) != {key(row) for row in shorter}:
        raise ValueError("the two budgets' rows must be the same models")
    pairs = [(row, at_longer[key(row)]) for row in sorted(shorter, key=key)]
    fronts = [[key(row) for row in pareto_front(rows, "latency_median_ms", accuracy)] for rows in (shorter, longer)]
    tau = kendall_tau([first[accuracy] for first, _ in pairs], [second[accuracy] for _, second in pairs])
    return {"changes": pairs, "inversions": (inversions(shorter, accuracy), inversions(longer, accuracy)),
            "tau": tau, "ranking_holds": tau == 1, "fronts": fronts, "front_holds": fronts[0] == fronts[1]}
