"""A training run in a process of its own, for the tests that need one:

  python tests/training_process.py FOLDER WORKDIR --epochs N [--strategy S] [--logical_cpus K] [--batch_size B]

`mobilenet.train` on helpers.tiny_config, with a callback (the library's `callbacks` hook)
that prints the replica count and the digest of the weights each fit ends with. tests/test_distributed.py starts
two of them as the workers of one job (TF_CONFIG in their environment); test_training.py one
on K logical CPUs, which must be made before TensorFlow starts.
"""

import argparse
import pathlib
import sys

sys.path[:0] = [str(pathlib.Path(__file__).parent), str(pathlib.Path(__file__).parents[1])]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("workdir")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--strategy", default="default")
    parser.add_argument("--logical_cpus", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=8)
    arguments = parser.parse_args()

    import keras
    import tensorflow as tf

    if arguments.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * arguments.logical_cpus)

    import mobilenet
    from helpers import tiny_config, weights_digest

    class PrintWeightsDigest(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            replicas = self.model.distribute_strategy.num_replicas_in_sync
            print(f"replicas {replicas}, weights sha256 {weights_digest(self.model)}", flush=True)

    config = tiny_config(f"folder:{arguments.folder}", epochs=arguments.epochs, strategy=arguments.strategy,
                         batch_size=arguments.batch_size, eval_batch_size=arguments.batch_size)
    history = mobilenet.train(config, arguments.workdir, callbacks=[PrintWeightsDigest()]).history
    print("epochs", [row["epoch"] for row in history], flush=True)


if __name__ == "__main__":
    main()
