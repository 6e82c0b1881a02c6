"""What the command lines share: one-line errors, flag parsing, the config flag.

A user-facing error is one line: what was wrong, with which flag or file.
"""

import re
import sys

from absl import flags, logging
from ml_collections import config_flags


def one_line(error, limit=200):
    """The first line of an exception's message (its type name if it has none)."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:limit]


def flags_parser(program):
    """A parser for absl's app.run(main, flags_parser=...): a bad flag value, or a --config
    file that does not load, ends the program with one line, not a traceback."""

    def parse(argv):
        try:
            argv = flags.FLAGS(argv)
            if not flags.FLAGS["verbosity"].present:
                # absl's app.run logs at INFO by default: TFDS and the converter would bury
                # the progress bars and results in lines of their own (--verbosity=0 shows them).
                logging.set_verbosity(logging.WARNING)
            if "config" in flags.FLAGS:
                flags.FLAGS.config.keys()  # config_flags reports a file it could not load on first use
            return argv
        except flags.Error as error:
            message = str(error)
        except OSError as error:
            message = f"--config: {_joined(error)}"
        sys.exit(f"{program}: error: {message}")

    return parse


def define_config_file(program, path, help_text):
    """config_flags.DEFINE_config_file("config", ...), locked. It reads the command line's
    --config.FIELD overrides as it defines the flag: a field that is not there ends the
    program with one line."""
    try:
        config_flags.DEFINE_config_file("config", path, help_text, lock_config=True)
    except (KeyError, AttributeError) as error:
        sys.exit(f"{program}: error: --config: {_joined(error)}")


def _joined(error):
    """All of a multi-line (or, from a KeyError, quoted and escaped) message on one line."""
    text = str(error)
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].replace("\\n", " ").replace("\\'", "'")
    errno_message = re.search(r"\[Errno \d+\] (.*)", text)  # the cause, for a file that did not load
    return " ".join((errno_message.group(1) if errno_message else text).split())


def config_from_flags(names):
    """The --config config with the shortcut flags `names` (when given) set in it."""
    config = flags.FLAGS.config
    with config.unlocked():
        for name in names:
            if flags.FLAGS[name].value is not None:
                config[name] = flags.FLAGS[name].value
    return config


def parse_list(values, flag, convert, valid):
    """`values` (a comma-separated flag's strings) converted; ValueError saying what is `valid`."""
    try:
        return [convert(value) for value in values]
    except ValueError:
        raise ValueError(f"{flag} takes {valid}, got {','.join(values)}") from None

