"""MobileNet V1 (Howard et al. 2017): model, data, training, export and evaluation."""

import os
import platform

# TensorFlow turns its oneDNN kernels on by default only on some x86 CPUs. It left them
# off on an AVX2-only AMD EPYC, where turning them on trains this model about 2x faster
# (docs/BENCHMARKS.md). Set before TensorFlow loads; TF_ENABLE_ONEDNN_OPTS=0 keeps them off.
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
