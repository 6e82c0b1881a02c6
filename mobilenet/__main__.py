"""`python -m mobilenet COMMAND [flags]`: every command of the project from one entry point.

  python -m mobilenet --help                    # the commands, one line each
  python -m mobilenet train --alpha 0.5 --resolution 160
  python -m mobilenet evaluate --help           # a command's own flags

The commands live in mobilenet/commands/ (one module each); `train.py` and
`export_tflite.py` in the repository and the `mobilenet-COMMAND` console scripts start the
same ones.
"""

import importlib
import sys

COMMANDS = ("train", "export", "evaluate", "benchmark", "predict", "costs", "sweep", "web")


def summary(command):
    """The first line of a command module's docstring: what the command does."""
    return importlib.import_module(f"mobilenet.commands.{command}").__doc__.strip().splitlines()[0]


def usage():
    width = max(map(len, COMMANDS))
    return "\n".join(["usage: python -m mobilenet COMMAND [flags]   (COMMAND --help: its flags)", "", "commands:"]
                     + [f"  {command:<{width}}  {summary(command)}" for command in COMMANDS])


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] in ("-h", "--help", "-?", "help"):
        print(usage())
        sys.exit(0 if len(argv) >= 2 else 2)
    command = argv[1]
    if command not in COMMANDS:
        sys.exit(f"python -m mobilenet: error: no command {command!r}; the commands are {', '.join(COMMANDS)}")
    importlib.import_module(f"mobilenet.commands.{command}").run([f"mobilenet {command}", *argv[2:]])


if __name__ == "__main__":
    main()
