"""What an export does unless told otherwise. The library (mobilenet.exporting.release) and the
command (export_tflite.py's flag defaults) both read these, so they cannot disagree; nothing
heavy is imported, so a command can read them before TensorFlow loads. How its latency is
timed (thread counts, runs) is mobilenet.measure.latency's."""

QUANTIZATION = "int8"
REPRESENTATIVE_SAMPLES = 300  # training images that calibrate int8
