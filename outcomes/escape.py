"""Escaping of text that came from the records, one function per medium where it is shown.

A clinic's files are data, never markup or terminal commands: a measure label written
``[details](javascript:alert(1))``, a folder named ``<img src=x onerror=...>`` or a cell holding
``ESC[2J`` must reach a reader as the characters typed, not as a live link, an element or a
cleared screen. Every place that shows a data-derived string passes it through the function of its
medium here, and only here:

- :func:`terminal` — command-line output (``outcomes check``, error messages, ``anonymise``):
  control characters (C0, DEL, C1 such as the 8-bit CSI, and the Unicode format characters that
  reorder text, e.g. U+202E) are written as visible escapes like ``\\x1b`` and ``\\u202e``.
- :func:`markdown` — text put into a markdown cell (``present.display.Text``): markdown punctuation is
  backslash-escaped and ``<``, ``>``, ``&`` become HTML entities, so neither a link, an image, an
  emphasis nor raw HTML can come from the data; control characters as in :func:`terminal`.
- :func:`html` — text put into HTML (widgets, hand-built HTML): ``html.escape`` with quotes, and
  control characters as in :func:`terminal`.
- :func:`plot_label` — text put into a matplotlib label, where ``$`` would start mathtext (the
  notebooks' setup also turns mathtext off, so every plot's labels show ``$`` as typed).

DataFrames shown in a notebook need no call: their HTML representation escapes cell values
(``DataFrame.to_html(escape=True)`` is pandas' default; ``tests/test_privacy.py`` checks it).
"""

from __future__ import annotations

import html as _html
import re
import unicodedata

__all__ = ["html", "markdown", "plot_label", "terminal"]

# markdown punctuation that starts a construct anywhere in a line: code, emphasis, links and
# images (``[``, ``]``: with them escaped, ``(`` and ``!`` are plain text), tables, strikethrough
_MD_ALWAYS = re.compile(r"([\\`*\[\]|~])")
# ``_`` makes emphasis only at a word's edge (``clinic_a`` stays as it is)
_MD_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# what starts a block when it opens a line: heading, quote, list, rule, setext underline
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])")


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _is_control(ch: str) -> bool:
    # Cc: C0, DEL, C1; Cf: format characters (bidi overrides, zero-width joiners, ...);
    # Zl/Zp: the Unicode line and paragraph separators
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def _controls(text: str, keep: str = "") -> str:
    if text.isascii() and text.isprintable():
        return text
    return "".join(_visible(c) if _is_control(c) and c not in keep else c for c in text)


def terminal(value, *, keep_newlines: bool = False) -> str:
    """``value`` as text safe to print to a terminal.

    Parameters
    ----------
    value : object
        Turned into ``str`` first.
    keep_newlines : bool
        Keep ``"\\n"`` (for a multi-line message the program itself composed); tabs and every other
        control character are always made visible.

    Examples
    --------
    >>> terminal("P01\\x1b[2J")
    'P01\\\\x1b[2J'
    """
    return _controls(str(value), "\n" if keep_newlines else "")


def markdown(value) -> str:
    """``value`` as literal text inside markdown (no link, image, emphasis, code, HTML, heading).

    Only what can start a construct is escaped, so ordinary labels (``Pore size (clinician
    grade)``, ``clinic_a``) read the same in the source as rendered.

    Examples
    --------
    >>> markdown("[x](javascript:alert(1))")
    '\\\\[x\\\\](javascript:alert(1))'
    >>> markdown("<b>")
    '&lt;b&gt;'
    """
    text = _controls(str(value))
    # a line break in a label would let the rest start a block (a heading, a list, a table)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_ALWAYS.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_LINE_START.sub(r"\1\\\2", text)
    return _MD_ORDERED.sub(r"\1\\\2", text)


def html(value) -> str:
    """``value`` as literal text inside HTML (element content or a quoted attribute).

    Examples
    --------
    >>> html('<a href="javascript:x">')
    '&lt;a href=&quot;javascript:x&quot;&gt;'
    """
    return _html.escape(_controls(str(value)), quote=True)


def plot_label(value) -> str:
    """``value`` as literal text in a matplotlib label (``$`` would start mathtext).

    The notebooks' setup turns mathtext off altogether (``text.parse_math``), so that labels
    drawn by any plot show a ``$`` as typed; elsewhere this escapes it.

    Examples
    --------
    >>> import matplotlib
    >>> with matplotlib.rc_context({"text.parse_math": True}):
    ...     plot_label("cost $5")
    'cost \\\\$5'
    """
    # imported here: every layer uses this module, and only a figure needs matplotlib
    import matplotlib

    text = _controls(str(value))
    return text.replace("$", r"\$") if matplotlib.rcParams["text.parse_math"] else text
