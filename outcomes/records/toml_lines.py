"""Inline tables written over several lines, as TOML 1.1 allows (issue 23), for
:func:`outcomes.records.dataset.read_toml`, the one reader of ``dataset.toml``.

Python's ``tomllib`` reads TOML 1.0, where an inline table must stay on one line. A mapping is
naturally written over several (``columns = { patient_id = "Client ID", ...`` continued on the
next line, as issue 23's own example does), and a clinic lead copying such an example should not
meet "Invalid initial character for a key part". :func:`loads` tries the text as it is first; only
when that fails does it read it again with every line break (and comment) inside an inline table's
braces replaced by a space — a text ``tomllib`` then reads, or the first error stands.
"""

from __future__ import annotations

import tomllib

__all__ = ["loads", "one_line_inline_tables"]


def loads(text: str) -> dict:
    """``tomllib.loads``, also reading inline tables written over several lines."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        joined = one_line_inline_tables(text)
        if joined == text:
            raise
        try:
            return tomllib.loads(joined)
        except tomllib.TOMLDecodeError:
            pass
        raise


def one_line_inline_tables(text: str) -> str:
    """``text`` with the line breaks and comments inside ``{ ... }`` (outside strings) made
    spaces; everything else as it was."""
    out, depth, quote, i = [], 0, "", 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                out.append(text[i:i + 2])
                i += 2
                continue
            if text.startswith(quote, i):
                out.append(quote)
                i += len(quote)
                quote = ""
                continue
            out.append(c)
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            out.append(quote)
            i += len(quote)
            continue
        elif c == "#" and depth:
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif c == "#":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        elif c == "{":
            depth += 1
            out.append(c)
        elif c == "}":
            depth = max(0, depth - 1)
            out.append(c)
        elif c in "\r\n" and depth:
            out.append(" ")
        else:
            out.append(c)
        i += 1
    return "".join(out)
