"""What a sweep's rows say: the Pareto front, the pick within the budgets (latency; with a
microcontroller build, RAM and flash too), the inversions along the paper's axes, and whether
a ranking holds when every model trains twice as long. Pure functions of rows (dicts with
alpha, resolution, latency_median_ms, an accuracy key and, for target "micro", arena_kib and
flash_kib). A row whose accuracy is None (a published row without a published top-1) has its
costs measured but is on no front and can be no pick.
"""

import itertools
import math


def accuracy_key(rows):
    return "published_top1" if rows and "published_top1" in rows[0] else "int8_top1"


# Each budget: the row's value it bounds, and its unit.
BUDGETS = {"latency_budget_ms": ("latency_median_ms", "ms"), "ram_budget_kb": ("arena_kib", "KiB"),
           "flash_budget_kb": ("flash_kib", "KiB")}


def ranked(rows, accuracy="int8_top1"):
    """The rows that have an accuracy (a published row without a published top-1 has none)."""
    return [row for row in rows if row.get(accuracy) is not None]


def _given(latency_budget_ms=None, ram_budget_kb=None, flash_budget_kb=None):
    """{budget: value} of the budgets given, in BUDGETS' order."""
    values = {"latency_budget_ms": latency_budget_ms, "ram_budget_kb": ram_budget_kb,
              "flash_budget_kb": flash_budget_kb}
    return {name: value for name, value in values.items() if value is not None}


def fits(row, latency_budget_ms=None, ram_budget_kb=None, flash_budget_kb=None):
    """Whether `row` is within every budget given: median latency (ms), TFLM arena and flash (KiB)."""
    budgets = _given(latency_budget_ms, ram_budget_kb, flash_budget_kb)
    return all(row[BUDGETS[name][0]] <= value for name, value in budgets.items())


def select(rows, latency_budget_ms=None, accuracy="int8_top1", ram_budget_kb=None, flash_budget_kb=None):
    """The most accurate row within every budget given (None if none is); rows without an
    accuracy are never picked. Ties go to the faster."""
    within = [row for row in ranked(rows, accuracy) if fits(row, latency_budget_ms, ram_budget_kb, flash_budget_kb)]
    return max(within, key=lambda row: (row[accuracy], -row["latency_median_ms"]), default=None)


def budgets_phrase(latency_budget_ms=None, ram_budget_kb=None, flash_budget_kb=None):
    """"2 ms, 256 KiB of RAM and 1024 KiB of flash": the budgets given, in words."""
    words = {"latency_budget_ms": "{:g} ms", "ram_budget_kb": "{:g} KiB of RAM", "flash_budget_kb": "{:g} KiB of flash"}
    parts = [words[name].format(value) for name, value in
             _given(latency_budget_ms, ram_budget_kb, flash_budget_kb).items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def budget_sentence(selected, latency_budget_ms, rows, ram_budget_kb=None, flash_budget_kb=None):
    accuracy = accuracy_key(rows)
    sentence = (f"within {budgets_phrase(latency_budget_ms, ram_budget_kb, flash_budget_kb)}: alpha "
                f"{selected['alpha']:g}, resolution {selected['resolution']}, {accuracy.replace('_', ' ')} "
                f"{selected[accuracy]:.4f}, {selected['latency_median_ms']:.3f} ms")
    if "arena_kib" in selected:
        sentence += f", arena {selected['arena_kib']:.1f} KiB, flash {selected['flash_kib']:.1f} KiB"
    if selected.get("upsampled"):
        sentence += (f"; ρ {selected['resolution']} is above the data's own resolution, so its images are only "
                     "upsampled: a smaller ρ at another α may do as well")
    return sentence


def _model(row):
    return f"alpha {row['alpha']:g}, resolution {row['resolution']}"


def no_fit_message(rows, accuracy="int8_top1", latency_budget_ms=None, ram_budget_kb=None, flash_budget_kb=None):
    """Why `select` found nothing, as a ParameterError template naming the budgets given: the
    fastest latency, and the smallest arena and flash seen (when a RAM or flash budget is
    given); or, when only rows without an accuracy fit, which."""
    budgets = _given(latency_budget_ms, ram_budget_kb, flash_budget_kb)
    head = ", ".join(f"{{{name}}} {value:g}" for name, value in budgets.items())
    fitting = [row for row in rows if fits(row, latency_budget_ms, ram_budget_kb, flash_budget_kb)]
    if fitting:  # none of them has an accuracy
        models = "; ".join(_model(row) for row in fitting)
        return (f"{head}: only models without a {accuracy.replace('_', ' ')} fit ({models}): a model without one "
                "cannot be picked by accuracy")
    facts = []
    if latency_budget_ms is not None:
        facts.append(f"the fastest takes {min(row['latency_median_ms'] for row in rows):.3f} ms")
    if (ram_budget_kb is not None or flash_budget_kb is not None) and all("arena_kib" in row for row in rows):
        arena = min(rows, key=lambda row: row["arena_kib"])
        flash = min(rows, key=lambda row: row["flash_kib"])
        facts.append(f"the smallest arena is {arena['arena_kib']:.1f} KiB ({_model(arena)}), the smallest flash "
                     f"{flash['flash_kib']:.1f} KiB ({_model(flash)})")
    return f"{head}: no model fits; " + "; ".join(facts)


def pareto_front(rows, x_key, accuracy="int8_top1"):
    """The rows no other row beats on both `x_key` (lower) and accuracy (higher), by x."""
    front = []
    for row in sorted(ranked(rows, accuracy), key=lambda row: (row[x_key], -row[accuracy])):
        if not front or row[accuracy] > front[-1][accuracy]:
            front.append(row)
    return front


def inversions(rows, accuracy="int8_top1"):
    """[(smaller row, larger row)] of neighbours along the paper's axes (ρ at one α, α at
    one ρ) where the larger model scores lower."""
    rows = ranked(rows, accuracy)
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
