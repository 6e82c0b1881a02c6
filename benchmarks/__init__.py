import mobilenet  # noqa: F401  (sets TensorFlow's environment before a benchmark loads TensorFlow)
