"""Training: a config and a work directory in, a trained model out, never losing a finished step.

The loop and its phases and optimizer (`loop.train`), the loss and metrics every run uses
(`objective`), what it writes after every epoch and
how SIGTERM stops it (`recorder`), the work directory with its checkpoints, history and lock
(`run_directory`), the moving average of the weights (`weight_averaging`) and TensorFlow's
distribution strategies (`distribution`). A new training feature (a loss, a schedule, a
callback) goes here, switched by a config field.
"""
