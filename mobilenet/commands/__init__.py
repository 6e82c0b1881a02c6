"""The command lines, one module per command: its flags, the checks that involve several
of them, its environment, and one-line `--flag` errors. Each calls the library.

  train        train.py                     mobilenet-train
  export       export_tflite.py             mobilenet-export
  evaluate     python -m mobilenet.evaluate  mobilenet-evaluate
  benchmark    python -m mobilenet.benchmark mobilenet-benchmark
  predict      python -m mobilenet.predict   mobilenet-predict
  costs        python -m mobilenet.costs     mobilenet-costs
  sweep        python -m mobilenet.sweep     mobilenet-sweep
  web          python -m mobilenet.web       mobilenet-web

Each module's `run(argv=None)` runs its command line; `main(flag_values, arguments)` is
the command itself.
"""
