"""The names of what this project makes, built in one place.

Imports nothing heavy: the Makefile asks it for the default work directory.
"""

import os


def model_name(alpha, resolution, variant="standard"):
    """`mobilenet_v1_<α>_<ρ>[_<variant>]`: a model's name, its run directory's name and
    the stem of its exported files (Google's published files use the same scheme)."""
    return f"mobilenet_v1_{alpha:.2f}_{resolution}" + ("" if variant == "standard" else f"_{variant}")


def default_workdir(alpha, resolution, variant="standard"):
    return os.path.join("runs", model_name(alpha, resolution, variant))


def tflite_name(alpha, resolution, quantization, float_input=False):
    return f"{model_name(alpha, resolution)}_{quantization}{'_float_input' * float_input}.tflite"

