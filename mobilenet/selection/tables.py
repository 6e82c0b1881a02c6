"""A sweep's tables: sweep.csv (one row per model) and sweep.md (the same, with the Pareto
front, the convergence marks, the inversion count and the machine the latency was timed on)."""

import csv
import datetime
import io

from mobilenet import machine
from mobilenet.selection import analysis

COLUMNS = (
    "alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb",
    "float_top1", "int8_top1", "latency_median_ms", "latency_p90_ms", "epochs", "last_gain", "converged",
)
PUBLISHED_COLUMNS = ("alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb", "published_top1",
                     "latency_median_ms", "latency_p90_ms")


def format_csv(rows):
    text = io.StringIO()
    writer = csv.DictWriter(text, PUBLISHED_COLUMNS if analysis.accuracy_key(rows) == "published_top1" else COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def format_markdown(rows, threads, latency_budget_ms=None, selected=None):
    accuracy = analysis.accuracy_key(rows)
    published = accuracy == "published_top1"
    front = analysis.pareto_front(rows, "latency_median_ms", accuracy)
    header = ("Published ImageNet top-1 (float)" if published else "Float top-1 | int8 top-1")
    lines = [
        f"| α | ρ | Mult-adds (M) | Params (M) | int8 size (MB) | {header} | "
        f"int8 latency, {threads} thread(s), median (p90) ms |" + ("" if published else " Epochs | Last gain |"),
        "|---|---|---|---|---|---|---|" + ("" if published else "---|---|---|"),
    ]
    for row in sorted(rows, key=lambda row: (row["alpha"], row["resolution"])):
        mark = " *" if row in front else ""
        accuracies = (f"{row[accuracy]:.3f}{mark}" if published else
                      f"{row['float_top1']:.4f} | {row['int8_top1']:.4f}{mark}{'' if row['converged'] else ' †'}")
        lines.append(
            f"| {row['alpha']:g} | {row['resolution']} | {row['mult_adds_m']:.1f} | {row['params_m']:.2f} | "
            f"{row['int8_size_mb']:.2f} | {accuracies} | {row['latency_median_ms']:.3f} ({row['latency_p90_ms']:.3f}) |"
            + ("" if published else f" {row['epochs']} | {100 * row['last_gain']:+.1f} |")
        )
    lines += ["", "\\* on the accuracy-versus-latency Pareto front: no other model is both faster and more accurate."]
    if not published:
        lines += [f"† not converged: validation top-1 still rose by more than {100 * analysis.CONVERGENCE_GAIN:g} point over "
                  f"the last {100 * analysis.CONVERGENCE_WINDOW:g} % of its epochs (\"Last gain\", in points), so its rank "
                  "reflects how fast it learns, not what it can reach."]
    found = analysis.inversions(rows, accuracy)
    lines += ["", f"Inversions along the paper's axes (a larger α at the same ρ, or a larger ρ at the same α, "
                  f"scoring lower): **{len(found)} of {analysis.neighbour_pairs(rows)}** neighbouring pairs"
              + ("." if not found else ": " + "; ".join(
                  f"α {large['alpha']:g} ρ {large['resolution']} ({large[accuracy]:.4f}) below α {small['alpha']:g} "
                  f"ρ {small['resolution']} ({small[accuracy]:.4f})" for small, large in found) + ".")]
    lines += ["", f"Latency measured on {datetime.date.today()} on {machine.describe()}."]
    if selected is not None:
        sentence = analysis.budget_sentence(selected, latency_budget_ms, rows)
        lines += ["", sentence[0].upper() + sentence[1:]
                  + ("" if published else "; copied as selected.tflite") + "."]
    return "\n".join(lines) + "\n"
