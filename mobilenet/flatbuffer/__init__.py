"""A `.tflite` file's bytes, read and rewritten: the leaf both converting and measuring stand on.

Its TFLite metadata, MediaPipe's and ours (`metadata`), its ends rewritten for XNNPACK
(`graph_surgery`), and what its graph holds: operators, tensors, mult-adds, the settings
that made it (`graph`). Nothing here runs a model or imports TensorFlow's converter.
"""
