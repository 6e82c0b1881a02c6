"""The command lines, one module per command: its flags, the checks that involve several
of them, its environment, and one-line `--flag` errors. Each calls the library.

Every command runs as `python -m mobilenet COMMAND` (mobilenet/__main__.py lists them) and
as the console script `mobilenet-COMMAND`; `train` and `export` also as the repository's
`train.py` and `export_tflite.py`. Each module's `run(argv=None)` runs its command line;
`main(flag_values, arguments)` is the command itself. A new command is a module here with
those two functions, a name in mobilenet/__main__.py's COMMANDS and a console script in
pyproject.toml.
"""
