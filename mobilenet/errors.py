"""User-facing errors are one line: what was wrong, with which flag or file."""


def one_line(error, limit=200):
    """The first line of an exception's message (its type name if it has none)."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:limit]
