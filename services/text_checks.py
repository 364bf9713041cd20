"""Text that may be stored and shown: no NUL, no lone surrogates, no control characters.

Names, series labels, units and sources come from people, files and devices. Characters that a
person cannot see or type do harm when they are kept: PostgreSQL refuses a NUL byte (``\\x00``) in
text, a lone UTF-16 surrogate (``\\ud800``, which JSON can carry) cannot be encoded as UTF-8 at all,
and a control character (a bell, an escape, a carriage return in a name) corrupts CSV files, logs
and labels. They are refused at the edge, where the value arrives, with a message that names the
character and where it is, so that the sender can find and remove it.

:data:`SingleLine` and :data:`MultiLine` are pydantic string types with this check (a multi-line
text, e.g. notes, may hold line breaks and tabs); :func:`text_problem` is the check itself, and
:func:`printable` makes any text safe to echo back in a message.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

#: Layout characters a multi-line text (notes) may hold.
LINE_BREAKS = frozenset("\n\r\t")


def _bad_character(char: str, multiline: bool) -> bool:
    category = unicodedata.category(char)
    if category == "Cs":  # a lone surrogate: not a character, cannot be stored as UTF-8
        return True
    return category == "Cc" and not (multiline and char in LINE_BREAKS)


def _name(char: str) -> str:
    if char == "\x00":
        return "a NUL byte (\\x00)"
    if unicodedata.category(char) == "Cs":
        return f"a lone surrogate (\\u{ord(char):04x}), which is not a character"
    return f"a control character (\\x{ord(char):02x})" if ord(char) < 256 else f"a control character (\\u{ord(char):04x})"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored, or None when it can.

    Refused: NUL, lone surrogates and every other control character (Unicode category Cc);
    ``multiline`` allows line feed, carriage return and tab.
    """
    for position, char in enumerate(value):
        if _bad_character(char, multiline):
            return (f"contains {_name(char)} at position {position + 1}: remove it "
                    "(only printable characters are accepted)")
    return None


def printable(value: str) -> str:
    """``value`` with every refused character written as an escape (``\\x00``, ``\\ud800``), so that
    it can be shown in a message, a log or a stored rejection without harm."""
    if not any(_bad_character(c, False) for c in value):
        return value
    return "".join(c.encode("unicode_escape").decode("ascii") if _bad_character(c, False) else c for c in value)


def _single_line(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _multi_line(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


#: A string of printable characters on one line (names, labels, units, codes).
SingleLine = Annotated[str, AfterValidator(_single_line)]
#: A string of printable characters, line breaks and tabs (notes).
MultiLine = Annotated[str, AfterValidator(_multi_line)]
