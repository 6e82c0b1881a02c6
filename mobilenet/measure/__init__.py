"""Measure: any `.tflite` in LiteRT, the runtime Android uses.

Reading a file and feeding it as an app does (`litert`), accuracy overall and per class
(`evaluation`, `class_metrics`), on-device-equivalent latency (`latency`) and by block
(`layer_latency`), and predictions for image files (`prediction`); a microcontroller's file in
TensorFlow Lite Micro, its arena and its scores (`tflm`). A measurement takes a
file; what it needs of a Keras model (its scores, its blocks converted) its caller passes
(mobilenet.exporting.comparison).
"""
