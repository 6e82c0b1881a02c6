"""The library's exceptions: each names the parameters it is about.

A message is written once, as a template whose `{parameter}` fields name the
parameters at fault (`{alpha}`, `{quantization}`, `{config.learning_rate}`). `str()`
shows them as the library calls them, for a notebook user; a command shows each as its
flag (`--alpha`, `--config.learning_rate`) with `message(flag_of)`.
"""

import re

_PARAMETER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


class Error(Exception):
    """An error that names the parameters it is about; see the module docstring."""

    exit_status = 1  # of a command that ends with it

    def __init__(self, template, parameter=None):
        self.template = template
        # The parameter at fault: the first one named, unless given.
        self.parameter = parameter or next(iter(_PARAMETER.findall(template)), None)
        super().__init__(self.message())

    def message(self, name_of=lambda parameter: parameter):
        """The message with each `{parameter}` replaced by `name_of(parameter)`."""
        return _PARAMETER.sub(lambda match: name_of(match.group(1)), self.template)


class ParameterError(Error, ValueError):
    """A parameter's value is not valid; the message says what would be."""


class TrainingDiverged(Error, RuntimeError):
    """The training loss became NaN or infinite."""


class TrainingInterrupted(Error, RuntimeError):
    """SIGTERM or SIGINT stopped training after a step, with a checkpoint there."""

    def __init__(self, signal_number, position, checkpoint):
        import signal

        self.exit_status = 128 + signal_number  # as if the signal had ended the process: 143, 130
        name = signal.Signals(signal_number).name
        super().__init__(f"stopped by {name} after {position}, saved in {checkpoint}: run the same command again "
                         "to resume from there")


class StorageError(Error, OSError):
    """An output could not be written (a full disk, a file system gone read-only)."""


def one_line(error, limit=200):
    """The first line of an exception's message (its type name if it has none), for
    quoting a third-party error inside one of ours."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:limit]
