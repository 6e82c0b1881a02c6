"""A `.tflite` file's bytes, read and rewritten: the leaf both converting and measuring stand on.

Its TFLite metadata, MediaPipe's and ours (`metadata`), its ends rewritten for XNNPACK
(`graph_surgery`, which also makes a microcontroller's shapes static and its buffers
aligned), what its graph holds: operators, tensors, mult-adds, the settings that made it,
its flash (`graph`), and TensorFlow Lite Micro's offline memory plan (`memory_plan`).
Nothing here runs a model or imports TensorFlow's converter.
"""
