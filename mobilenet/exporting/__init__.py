"""Exporting: the release step. A trained run in; its `.tflite`, report and card out.

`release.export` converts (mobilenet.converting), measures the file it wrote
(mobilenet.measure) and writes the report and the model card (`model_card`) beside it; its
defaults are in `defaults`. `comparison` measures a file beside the Keras model it came
from: accuracy (`evaluate_tflite`) and latency by block.
"""
