"""Text for people: nothing a case or a file name holds can forge output.

An id, a title, an unknown field's name or a file name may hold a newline (a
forged ``fake-case: APPROVED`` line), an ESC or OSC sequence (the terminal
obeys it), a bidirectional override (the line reads differently from what it
holds) or a byte XML cannot carry. :func:`printable` writes each such
character as a visible escape (``\\n``, ``\\x1b``, ``\\u202e``), so one line of
output stays one line and shows what the input held. JSON output needs none
of this: its encoder escapes what JSON requires, and programs read it.
"""

from __future__ import annotations

__all__ = ["printable"]

# Controls (C0, DEL, C1), format characters (bidi overrides, zero-width),
# line and paragraph separators, surrogates, private use and unassigned code
# points (U+FFFE, U+FFFF: not allowed in XML), and every space but the ASCII
# one (U+00A0, U+2007, U+3000: a field named with one reads as another): what
# str.isprintable refuses.
_ESCAPED = frozenset({"Cc", "Cf", "Zl", "Zp", "Zs", "Cs", "Co", "Cn"})
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character that could move the cursor, end the line,
    talk to the terminal or break XML written as a visible escape."""
    if text.isprintable():  # the common case: nothing to do
        return text
    import unicodedata
    return "".join(_escape(c) if c != " " and unicodedata.category(c) in _ESCAPED else c
                   for c in text)
