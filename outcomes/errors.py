"""The two exceptions a user can meet: a problem in the records, and a setting that cannot be."""

from __future__ import annotations

import difflib

__all__ = ["RecordsError", "SettingError", "did_you_mean"]


class RecordsError(Exception):
    """The records cannot be used as they are.

    The message always names the file (and where it can, the line, column and value) and says what
    to do about it. The command line prints it without a traceback and exits with status 1.
    """


class SettingError(ValueError):
    """A setting of the question cannot be used: the message names the setting, what is allowed,
    the value passed and, when one is close, the value probably meant. The command line prints it
    without a traceback and exits with status 1 (it is a ``ValueError`` for Python callers)."""


def did_you_mean(value, options) -> str:
    """`` Did you mean 'forehead'?`` when a close option exists (else ``""``)."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value.strip().lower(), [str(o) for o in options], n=1,
                                      cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
