"""A sweep's tables: sweep.csv (one row per model) and sweep.md (the same, with the Pareto
front, the upsampled marks, the inversion count, the machine the latency was timed on and,
for a doubled sweep, how the verdict changed with twice the epochs). With target "micro",
each row also has its TFLM file's flash and arena (MICRO_COLUMNS)."""

import csv
import datetime
import io

from mobilenet import machine, names
from mobilenet.selection import analysis

COLUMNS = ("alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb", "float_top1", "int8_top1",
           "latency_median_ms", "latency_p90_ms", "epochs", "upsampled")
PUBLISHED_COLUMNS = ("alpha", "resolution", "mult_adds_m", "params_m", "int8_size_mb", "published_top1",
                     "latency_median_ms", "latency_p90_ms", "num_classes")
# With target "micro": the TFLM file's bytes and the smallest arena TFLM allocates it in, in KiB.
MICRO_COLUMNS = ("flash_kib", "arena_kib")


def columns(rows):
    """The CSV's columns for these rows: trained or published, and the micro ones if measured."""
    base = PUBLISHED_COLUMNS if analysis.accuracy_key(rows) == "published_top1" else COLUMNS
    return base + (MICRO_COLUMNS if rows and "arena_kib" in rows[0] else ())


def format_csv(rows):
    text = io.StringIO()
    writer = csv.DictWriter(text, columns(rows), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def format_markdown(rows, threads, native_resolution=None, latency_budget_ms=None, selected=None, comparison=None,
                    ram_budget_kb=None, flash_budget_kb=None):
    accuracy = analysis.accuracy_key(rows)
    published = accuracy == "published_top1"
    micro = bool(rows) and "arena_kib" in rows[0]
    front = analysis.pareto_front(rows, "latency_median_ms", accuracy)
    header = ("Published ImageNet top-1 (float)" if published else "Float top-1 | int8 top-1")
    lines = [
        f"| α | ρ | Mult-adds (M) | Params (M) | int8 size (MB) | {header} | "
        f"int8 latency, {threads} thread(s), median (p90) ms |" + ("" if published else " Epochs |")
        + (" TFLM flash (KiB) | TFLM arena (KiB) |" if micro else ""),
        "|---|---|---|---|---|---|---|" + ("" if published else "---|---|") + ("---|---|" if micro else ""),
    ]
    for row in sorted(rows, key=lambda row: (row["alpha"], row["resolution"])):
        mark = " *" if row in front else ""
        if published:
            accuracies = "— †" if row[accuracy] is None else f"{row[accuracy]:.3f}{mark}"
        else:
            accuracies = f"{row['float_top1']:.4f} | {row['int8_top1']:.4f}{mark}"
        lines.append(
            f"| {row['alpha']:g} | {row['resolution']}{' ↑' if row.get('upsampled') else ''} | {row['mult_adds_m']:.1f} | "
            f"{row['params_m']:.2f} | {row['int8_size_mb']:.2f} | {accuracies} | {row['latency_median_ms']:.3f} "
            f"({row['latency_p90_ms']:.3f}) |" + ("" if published else f" {row['epochs']} |")
            + (f" {row['flash_kib']:.1f} | {row['arena_kib']:.1f} |" if micro else "")
        )
    lines += ["", "\\* on the accuracy-versus-latency Pareto front: no other model is both faster and more accurate."]
    if published and any(row[accuracy] is None for row in rows):
        lines += ["† no published ImageNet top-1 (TF-Slim published α 0.25-1.0 at ρ 128-224): its costs are "
                  "measured, but it cannot be picked by accuracy."]
    if native_resolution is not None:
        lines += [f"↑ upsampled: ρ above the data's own resolution, the median short side of its training images "
                  f"({native_resolution} pixels): more computation, no more pixels."]
    if micro:
        lines += ["", micro_note(rows, published)]
    lines += ["", inversion_line(rows, accuracy)]
    if comparison is not None:
        lines += ["", *format_comparison(comparison)]
    lines += ["", f"Latency measured on {datetime.date.today()} on {machine.describe()}."]
    if selected is not None:
        sentence = analysis.budget_sentence(selected, latency_budget_ms, rows, ram_budget_kb, flash_budget_kb)
        copied = "" if published else "; copied as selected.tflite" + (
            f" (and its TFLM build as {names.SWEEP_SELECTED_MICRO})" if micro else "")
        lines += ["", sentence[0].upper() + sentence[1:] + copied + "."]
    return "\n".join(lines) + "\n"


def micro_note(rows, published):
    """What the flash and arena columns are."""
    note = ("TFLM flash: the bytes of the model's file for TensorFlow Lite Micro (all int8, static shapes, an "
            "offline memory plan, its metadata); TFLM arena: the smallest arena in which TFLM's own interpreter "
            "allocates and runs it, measured on a 64-bit host (a 32-bit microcontroller needs less).")
    if published:
        counts = sorted({row["num_classes"] for row in rows})
        note += (f" Each architecture is converted at {', '.join(map(str, counts))} classes with random weights "
                 "(batch-norm statistics set from random calibration images, so that the signal lives through "
                 "every layer): flash and arena do not depend on the trained values. Its metadata holds "
                 "placeholder labels (class_0, ...): yours change the flash by their length.")
    else:
        note += (" The int8 top-1 is the phone file's, in LiteRT; the TFLM file holds the same weights with the same "
                 "calibration (export_tflite.py --target micro measures its own top-1 in TFLM).")
    return note


def inversion_line(rows, accuracy="int8_top1"):
    rows = analysis.ranked(rows, accuracy)
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
