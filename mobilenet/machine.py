"""The machine a timing was taken on: CPU model, its widest vector instructions, cores and
versions. Kernels differ by instruction set, so a latency means little without it."""

import os
import platform


def describe():
    """E.g. "AMD EPYC (AVX2), 2 cores; TensorFlow 2.21.0 (oneDNN on), Keras 3.15.1"."""
    import keras
    import tensorflow as tf

    cpu, flags = platform.processor() or platform.machine(), []
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            info = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in file)}
        cpu = info.get("model name", cpu)
        flags = info.get("flags", "").split()
    vector = next((name for name in ("avx512_vnni", "avx512f", "avx2") if name in flags), None)
    onednn = {"1": "on", "0": "off"}.get(os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "as TensorFlow chooses")
    return (f"{cpu}{f' ({vector.upper()})' if vector else ''}, {os.cpu_count()} cores; TensorFlow {tf.__version__} "
            f"(oneDNN {onednn}), Keras {keras.__version__}")
