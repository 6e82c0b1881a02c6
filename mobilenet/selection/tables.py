"""A sweep's tables: sweep.csv (one row per model) and sweep.md (the same, with the Pareto
front, the upsampled marks, the inversion count, the machine the latency was timed on and,
for a doubled sweep, how the verdict changed with twice the epochs)."""

import csv
import datetime
import io

from mobilenet import machine
from mobilenet.selection import analysis

COLUMNS = ("alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb", "float_top1", "int8_top1",
           "latency_median_ms", "latency_p90_ms", "epochs", "upsampled")
PUBLISHED_COLUMNS = ("alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb", "published_top1",
                     "latency_median_ms", "latency_p90_ms")


def format_csv(rows):
    text = io.StringIO()
    writer = csv.DictWriter(text, PUBLISHED_COLUMNS if analysis.accuracy_key(rows) == "published_top1" else COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def format_markdown(rows, threads, native_resolution=None, latency_budget_ms=None, selected=None, comparison=None):
    accuracy = analysis.accuracy_key(rows)
    published = accuracy == "published_top1"
    front = analysis.pareto_front(rows, "latency_median_ms", accuracy)
    header = ("Published ImageNet top-1 (float)" if published else "Float top-1 | int8 top-1")
    lines = [
        f"| α | ρ | Mult-adds (M) | Params (M) | int8 size (MB) | {header} | "
        f"int8 latency, {threads} thread(s), median (p90) ms |" + ("" if published else " Epochs |"),
        "|---|---|---|---|---|---|---|" + ("" if published else "---|---|"),
    ]
    for row in sorted(rows, key=lambda row: (row["alpha"], row["resolution"])):
        mark = " *" if row in front else ""
        accuracies = (f"{row[accuracy]:.3f}{mark}" if published else
                      f"{row['float_top1']:.4f} | {row['int8_top1']:.4f}{mark}")
        lines.append(
            f"| {row['alpha']:g} | {row['resolution']}{' ↑' if row.get('upsampled') else ''} | {row['mult_adds_m']:.1f} | "
            f"{row['params_m']:.2f} | {row['int8_size_mb']:.2f} | {accuracies} | {row['latency_median_ms']:.3f} "
            f"({row['latency_p90_ms']:.3f}) |" + ("" if published else f" {row['epochs']} |")
        )
    lines += ["", "\\* on the accuracy-versus-latency Pareto front: no other model is both faster and more accurate."]
    if native_resolution is not None:
        lines += [f"↑ upsampled: ρ above the data's own resolution, the median short side of its training images "
                  f"({native_resolution} pixels): more computation, no more pixels."]
    lines += ["", inversion_line(rows, accuracy)]
    if comparison is not None:
        lines += ["", *format_comparison(comparison)]
    lines += ["", f"Latency measured on {datetime.date.today()} on {machine.describe()}."]
    if selected is not None:
        sentence = analysis.budget_sentence(selected, latency_budget_ms, rows)
        lines += ["", sentence[0].upper() + sentence[1:]
                  + ("" if published else "; copied as selected.tflite") + "."]
    return "\n".join(lines) + "\n"


def inversion_line(rows, accuracy="int8_top1"):
    found = analysis.inversions(rows, accuracy)
    return (f"Inversions along the paper's axes (a larger α at the same ρ, or a larger ρ at the same α, "
            f"scoring lower): **{len(found)} of {analysis.neighbour_pairs(rows)}** neighbouring pairs"
            + ("." if not found else ": " + "; ".join(
                f"α {large['alpha']:g} ρ {large['resolution']} ({large[accuracy]:.4f}) below α {small['alpha']:g} "
                f"ρ {small['resolution']} ({small[accuracy]:.4f})" for small, large in found) + "."))


def format_comparison(comparison, accuracy="int8_top1"):
    """The doubled sweep's section: each model at both budgets, and what held."""
    shorter_epochs, longer_epochs = comparison["changes"][0][0]["epochs"], comparison["changes"][0][1]["epochs"]
    lines = [f"### The same grid at {shorter_epochs} and {longer_epochs} epochs", "",
             f"Every model trained again from scratch for {longer_epochs} epochs (the table above), beside its run of "
             f"{shorter_epochs}:", "",
             f"| α | ρ | int8 top-1, {shorter_epochs} epochs | int8 top-1, {longer_epochs} epochs | Change |",
             "|---|---|---|---|---|"]
    for shorter, longer in comparison["changes"]:
        lines.append(f"| {shorter['alpha']:g} | {shorter['resolution']} | {shorter[accuracy]:.4f} | "
                     f"{longer[accuracy]:.4f} | {100 * (longer[accuracy] - shorter[accuracy]):+.1f} points |")
    shorter_rows = [shorter for shorter, _ in comparison["changes"]]
    fronts = [", ".join(f"{alpha:g}-{resolution}" for alpha, resolution in front) for front in comparison["fronts"]]
    inverted = [len(found) for found in comparison["inversions"]]
    lines += ["", f"Inversions along the paper's axes: {inverted[0]} at {shorter_epochs} epochs, {inverted[1]} at "
                  f"{longer_epochs}, of {analysis.neighbour_pairs(shorter_rows)} neighbouring pairs.",
              f"Kendall's tau between the two rankings by int8 top-1: **{comparison['tau']:.2f}** (1: every pair "
              "ranked alike).",
              f"Pareto front (accuracy against latency): {fronts[0]} at {shorter_epochs} epochs; {fronts[1]} at "
              f"{longer_epochs}.", "", f"**{verdict(comparison)}**"]
    return lines


def verdict(comparison):
    """The one claim the doubling allows."""
    shorter_epochs, longer_epochs = comparison["changes"][0][0]["epochs"], comparison["changes"][0][1]["epochs"]
    ranking = ("The ranking holds when the epochs double" if comparison["ranking_holds"] else
               f"The ranking does not hold when the epochs double (tau {comparison['tau']:.2f})")
    front = ("the Pareto front is the same" if comparison["front_holds"] else "the Pareto front changes")
    return f"{ranking}, from {shorter_epochs} to {longer_epochs}; {front}."
