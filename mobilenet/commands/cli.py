"""What the commands share: their own flags, a quiet environment, one-line errors.

`run_command` parses a command line with flags the command defines into a FlagValues
of its own (so that commands can run one after another in one process, as the tests do),
sets up the environment TensorFlow reads, runs the command, and turns a library
`mobilenet.Error` into one line: `program: error: --flag ...`.
"""

import contextlib
import io
import os
import platform
import re
import sys

from absl import flags, logging
from ml_collections import config_flags

from mobilenet import errors


def run_command(doc, define_flags, main, argv=None, flag_name=lambda parameter: f"--{parameter}"):
    """Runs one command line: returns when it succeeded, else exits with one line (status
    1 for an error; 143 or 130 for training stopped by SIGTERM or SIGINT). Errors start with
    the program as it was called: "train.py", "mobilenet-train", "mobilenet evaluate".

    Args:
      doc: the usage text --help prints before the flags.
      define_flags: `define_flags(flag_values, argv)` defines the command's flags.
      main: `main(flag_values, arguments)`, the command; `arguments` are the words left
        after the flags. It raises `mobilenet.Error` for bad input.
      argv: the command line (default sys.argv), the program first.
      flag_name: the flag that sets a library parameter, for error messages.
    """
    argv = list(sys.argv if argv is None else argv)
    program = os.path.basename(argv[0])
    flag_values = flags.FlagValues()
    flags.DEFINE_integer("verbosity", None, "Show TensorFlow's and LiteRT's own log lines too (0 or more; "
                         "1 for debug lines). Without it a command prints only its own lines.",
                         flag_values=flag_values, short_name="v")
    flags.DEFINE_bool("help", False, "Show this help.", flag_values=flag_values, short_name="?")
    try:
        define_flags(flag_values, argv)
        if {"--help", "-help", "-?"} & set(argv[1:]):  # before parsing: required flags may be missing
            print(f"{doc.strip()}\n\nflags:\n{flag_values.get_help()}")
            sys.exit(0)
        arguments = flag_values(argv)
        if "config" in flag_values:
            flag_values.config.keys()  # config_flags reports a file it could not load on first use
    except flags.Error as error:
        sys.exit(f"{program}: error: {error}")
    except (KeyError, AttributeError, OSError) as error:  # config_flags: no such --config.FIELD, or file
        sys.exit(f"{program}: error: --config: {_joined(error)}")
    with environment(flag_values.verbosity):
        try:
            main(flag_values, arguments[1:])
        except errors.TrainingInterrupted as error:  # not an error: where it stopped, how to resume
            print(f"{program}: {error.message(flag_name)}", file=sys.stderr)
            sys.exit(error.exit_status)
        except errors.Error as error:
            sys.exit(f"{program}: error: {error.message(flag_name)}")


def _joined(error):
    """All of a multi-line (or, from a KeyError, quoted and escaped) message on one line."""
    text = str(error)
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].replace("\\n", " ").replace("\\'", "'")
    errno_message = re.search(r"\[Errno \d+\] (.*)", text)  # the cause, for a file that did not load
    return " ".join((errno_message.group(1) if errno_message else text).split())


def tensorflow_variables(verbose=False):
    """The environment variables a command sets for TensorFlow, where they are not set."""
    variables = {"TF_CPP_MIN_LOG_LEVEL": "0" if verbose else "2"}
    if platform.machine().lower() in ("x86_64", "amd64"):
        variables["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return variables


@contextlib.contextmanager
def environment(verbosity=None):
    """What a command sets up for TensorFlow and LiteRT, undone on exit.

    * TensorFlow's oneDNN kernels on x86, where TensorFlow leaves them off on some CPUs
      (AVX2-only AMD EPYC: docs/BENCHMARKS.md measures the gain); TF_ENABLE_ONEDNN_OPTS=0
      in the environment keeps them off.
    * Without `verbosity`, the start-up lines TensorFlow and LiteRT write from C++
      (cuInit on a machine without a GPU, cpu_feature_guard, the oneDNN notice, "Created
      TensorFlow Lite XNNPACK delegate") are hidden, and absl logs only warnings. Python's
      own output (results, progress bars, tracebacks) is not touched.
    """
    saved_environ = dict(os.environ)
    for name, value in tensorflow_variables(verbose=verbosity is not None).items():
        os.environ.setdefault(name, value)
    saved_verbosity = logging.get_verbosity()
    logging.set_verbosity(logging.WARNING if verbosity is None else verbosity)
    try:
        with (contextlib.nullcontext() if verbosity is not None else _native_stderr_hidden()):
            yield
    finally:
        logging.set_verbosity(saved_verbosity)
        os.environ.clear()
        os.environ.update(saved_environ)


@contextlib.contextmanager
def _native_stderr_hidden():
    """Sends what C++ code writes to file descriptor 2 to /dev/null while the block runs;
    Python's sys.stderr keeps writing where it did."""
    try:
        python_stderr_fd = sys.stderr.fileno()
    except (AttributeError, io.UnsupportedOperation):  # already redirected in Python (a test)
        python_stderr_fd = None
    sys.stderr.flush()
    saved_fd = os.dup(2)
    saved_stderr = sys.stderr
    if python_stderr_fd == 2:
        # Python's own stderr goes on to the real one, through a copy of its descriptor.
        sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(saved_fd), "wb", buffering=0), write_through=True,
                                      encoding=saved_stderr.encoding, errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        sys.stderr = saved_stderr


def define_config_file(flag_values, argv, default_path, help_text):
    """--config: a config file whose fields the command line sets as --config.FIELD=VALUE."""
    config_flags.DEFINE_config_file("config", default_path, help_text, flag_values=flag_values, lock_config=True,
                                    sys_argv=argv)


def config_from_flags(flag_values, shortcuts):
    """The --config config with the shortcut flags `shortcuts` (when given) set in it."""
    config = flag_values.config
    with config.unlocked():
        for name in shortcuts:
            if flag_values[name].value is not None:
                config[name] = flag_values[name].value
    return config


def config_flag_name(shortcuts, fields, other=None):
    """`flag_name` for a command with a --config of `fields`: a field is named by its
    shortcut flag if it has one (--epochs), else as --config.FIELD; `other` renames the
    remaining parameters."""
    other = other or {}

    def flag_name(parameter):
        field = parameter.removeprefix("config.")
        if field in shortcuts:
            return f"--{field}"
        if field in fields:
            return f"--config.{field}"
        return other.get(parameter, f"--{parameter}")

    return flag_name


def parse_list(values, flag, convert, valid):
    """`values` (a comma-separated flag's strings) converted; ParameterError saying what is `valid`."""
    try:
        return [convert(value) for value in values]
    except ValueError:
        raise errors.ParameterError(f"{flag} takes {valid}, got {','.join(values)}") from None


def parse_threads(values, flag="--threads"):
    return tuple(parse_list(values, flag, int, "integers >= 1, comma-separated"))
