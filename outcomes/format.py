"""Numbers for people, and rows for JSON: the one place they are written.

Every layer that writes a number a person reads uses these — an estimator's note (a belief's
verdict reason), the command line's sentences and tables, the notebooks' views — so that an
estimate, an interval, a p-value, a share or a count of patients reads the same everywhere, and a
value that does not exist is always shown by one mark, :data:`MISSING` ("—").

==================  ===========================================================================
:func:`number`      ``0.31``, ``−0.50`` (a true minus sign; never ``−0.00``)
:func:`interval`    ``0.13 to 0.50``
:func:`estimate_ci` ``0.31 (0.13 to 0.50)`` or ``0.31 (95% CI 0.13 to 0.50)``
:func:`which_way`   ``0.31 grades less (95% CI 0.13 to 0.50)``: a difference without minus signs
:func:`p_value`     ``<0.001``, ``0.042``
:func:`percent`     ``42%`` (or ``<1%`` / ``>99%`` for a chance)
:func:`count`       a count of people: ``<5`` from 1 to 4 (:func:`outcomes.privacy.suppress_count`)
:func:`rows`        a count of rows (not people, never suppressed): ``3,016``
:func:`json_value`  one value for JSON: NaN and infinities as null, numpy scalars as Python ones
==================  ===========================================================================

Foundation layer: it imports nothing of the records or above.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from .privacy.disclosure import suppress_count

__all__ = ["MINUS", "MISSING", "count", "estimate_ci", "interval", "is_missing", "json_rows",
           "json_value", "number", "p_value", "percent", "rows", "which_way"]

#: what is shown where a value does not exist or cannot be estimated
MISSING = "—"

#: the minus sign of a number written for people (U+2212, not the hyphen)
MINUS = "−"


def is_missing(x) -> bool:
    """Whether ``x`` is no number: None, NA, NaN or an infinity."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _decimals(x: float, digits) -> int:
    if digits == "size":       # a size in grades: two decimals, one from 10 on
        return 2 if abs(x) < 10 else 1
    if digits == "limit":      # ... and three for a value just off 0, which never reads 0.00
        return 3 if 0 < abs(x) < 0.005 else (2 if abs(x) < 10 else 1)
    return int(digits)


def number(x, digits: int | str = 2, *, minus: str = MINUS, missing: str = MISSING) -> str:
    """``x`` with ``digits`` decimals, a true minus sign and never a negative zero.

    Parameters
    ----------
    x : float
        The number; None, NA, NaN or an infinity is shown as ``missing``.
    digits : int or {"size", "limit"}
        Decimals; ``"size"``: two below 10, one from 10 on; ``"limit"``: as ``"size"``, and three
        for a value between 0 and 0.005 so that a threshold just above 0 never reads ``0.00``.
    minus : str
        The minus sign (``"-"`` for a table a statistician copies into other software).

    Examples
    --------
    >>> number(-0.5), number(-0.001), number(12.345, "size"), number(float("nan"))
    ('−0.50', '0.00', '12.3', '—')
    """
    if is_missing(x):
        return missing
    x = float(x)
    text = f"{x:.{_decimals(x, digits)}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", minus)


def interval(lo, hi, digits: int | str = 2, *, missing: str = MISSING) -> str:
    """``"0.13 to 0.50"``; ``missing`` when the interval has no lower end."""
    if is_missing(lo):
        return missing
    return f"{number(lo, digits)} to {number(hi, digits)}"


def estimate_ci(est, lo, hi, digits: int | str = 2, *, words: str = "",
                missing: str = MISSING) -> str:
    """``"0.31 (0.13 to 0.50)"``; ``words="95% CI "`` gives ``"0.31 (95% CI 0.13 to 0.50)"``;
    ``missing`` (e.g. ``"not estimable"``) when there is no estimate."""
    if is_missing(est):
        return missing
    return f"{number(est, digits)} ({words}{number(lo, digits)} to {number(hi, digits)})"


def which_way(est, lo, hi, *, more: str = "more", less: str = "less", unit: str = "grades",
              digits: int = 2) -> str:
    """``0.31 grades less (95% CI 0.13 to 0.50)`` — a difference in words, no minus signs.

    When the interval crosses zero both ends get their word: ``(95% CI from 0.22 less to 0.14
    more)``; without an estimate, ``"not estimable"``.
    """
    def size(v):
        return number(abs(v), digits)

    if is_missing(est):
        return "not estimable"
    word = more if est >= 0 else less
    if is_missing(lo) or is_missing(hi):
        ci = "no interval"
    elif lo >= 0:
        ci = f"95% CI {size(lo)} to {size(hi)}"
    elif hi <= 0:
        ci = f"95% CI {size(hi)} to {size(lo)}"
    else:
        ci = f"95% CI from {size(lo)} {less} to {size(hi)} {more}"
    return f"{size(est)} {unit} {word} ({ci})"


def p_value(p, *, missing: str = MISSING) -> str:
    """``"<0.001"`` or three decimals."""
    if is_missing(p):
        return missing
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def percent(share, *, chance: bool = False, missing: str = MISSING) -> str:
    """A share (0 to 1) as a whole percentage; ``chance=True`` writes ``<1%`` and ``>99%`` rather
    than a certainty the numbers do not show."""
    if is_missing(share):
        return missing
    if chance and share > 0.995:
        return ">99%"
    if chance and share < 0.005:
        return "<1%"
    return f"{100 * share:.0f}%"


def count(n, *, missing: str = MISSING) -> str:
    """A count of people: ``<5`` from 1 to 4 (:func:`outcomes.privacy.suppress_count`)."""
    return missing if is_missing(n) else suppress_count(int(n))


def rows(n) -> str:
    """A count of rows for people: ``3,016`` (never suppressed: rows are not people)."""
    return f"{int(n):,}"


def json_value(x, *, text: Callable[[str], str] | None = None):
    """One value for JSON: NaN, infinities, None, NA and NaT as null, numpy scalars as the Python
    ones; a string through ``text`` when given (the escape rule of where it is shown)."""
    if isinstance(x, np.generic):
        x = x.item()
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if text is not None and isinstance(x, str):
        return text(x)
    return x


def json_rows(frame: pd.DataFrame, *, text: Callable[[str], str] | None = None) -> list[dict]:
    """The rows of ``frame`` as JSON-ready dicts (:func:`json_value` for every cell)."""
    return [{k: json_value(v, text=text) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
