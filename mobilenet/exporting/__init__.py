"""Exporting: a trained Keras model in, a `.tflite` a phone runs out.

Conversion to float32, float16, dynamic-range or full int8 (`conversion`), the TFLite
metadata MediaPipe reads (`metadata`), the whole stage with its accuracy and latency
report (`release`, defaults in `defaults`) and the model card beside the file
(`model_card`). A new export format goes into `conversion`, with a row in
tests/test_export.py.
"""
