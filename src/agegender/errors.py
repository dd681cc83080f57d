"""The errors a user can meet, in one place: problems with what a user gave (a path, an option, a file's
content) are UserError, and the kinds below it say which; a missing optional package is MissingExtraError.

The CLI prints a UserError as one line and exits with code 2, a MissingExtraError with code 3; any other
exception is a bug and keeps its traceback (exit code 1). UserError subclasses ValueError, so library
callers can catch either. The web server answers a RequestError or Busy with its HTTP status and the
message as JSON.
"""


class UserError(ValueError):
    """Something the user gave is wrong or unusable; the message says what and, where it can, what to do."""


class ImageError(UserError):
    """An image could not be read; the message says which file and why."""


class VideoError(UserError):
    """A video, camera or stream could not be read; the message says which and why."""


class EmptyDatasetError(UserError):
    """No faces are left after a filter; the message names the filter."""


class CacheError(UserError):
    """A face cache that cannot be used: incomplete or damaged."""


class NoSingleFaceError(UserError):
    """A photo holds no face, or more than one plausible face; the message says which."""


class CheckpointError(UserError):
    """A checkpoint that cannot be used: damaged, or from a run with another network."""


class StaleGraphError(UserError):
    """An ONNX graph linked to a weight file that has changed since the export."""


class MissingExtraError(ImportError):
    """A feature needs a package that this installation lacks; the message says which extra brings it."""


class RequestError(Exception):
    """A web request the server refuses: ``status`` (4xx) and a ``message`` for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Busy(Exception):
    """The server is at its limits (503), or a client at its own (429); ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: int, status: int = 503):
        super().__init__(message)
        self.message, self.retry_after_s, self.status = message, retry_after_s, status
