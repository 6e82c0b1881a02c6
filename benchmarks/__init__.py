"""Benchmarks: `make bench`. TensorFlow gets the environment the commands give it."""

import os

from mobilenet.commands import cli

for _name, _value in cli.tensorflow_variables().items():
    os.environ.setdefault(_name, _value)
