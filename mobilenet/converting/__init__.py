"""Converting: a Keras model in, `.tflite` bytes out.

Float32, float16, dynamic-range or full int8, with TFLite metadata (`conversion`); for a
microcontroller, an all-int8 file for TensorFlow Lite Micro (`micro_conversion`) and its C++
sources (`c_sources`). A new
export format goes into `conversion`, with a row in tests/test_export.py. What the file is
worth, its accuracy and speed, is measure's; the whole release step is exporting's.
"""
