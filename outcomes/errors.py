"""The one exception type for problems in the user's records."""

from __future__ import annotations

__all__ = ["RecordsError"]


class RecordsError(Exception):
    """The records cannot be used as they are.

    The message always names the file (and where it can, the line, column and value) and says what
    to do about it. The command line prints it without a traceback and exits with status 1.
    """
