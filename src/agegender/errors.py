"""The one error type for problems with what a user gave: a path, an option, a file's content.

The CLI prints a UserError as one line and exits with code 2; any other exception is a bug and
keeps its traceback (exit code 1). It subclasses ValueError, so library callers can catch either.
"""


class UserError(ValueError):
    """Something the user gave is wrong or unusable; the message says what and, where it can, what to do."""
