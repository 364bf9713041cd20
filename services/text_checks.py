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

import re
from typing import Annotated

from pydantic import AfterValidator

#: Control characters (Unicode category Cc: C0, DEL, C1) and lone surrogates (category Cs).
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same, less the layout characters a multi-line text (notes) may hold: tab, line feed, carriage return.
_REFUSED_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _name(char: str) -> str:
    if char == "\x00":
        return "a NUL byte (\\x00)"
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate (\\u{ord(char):04x}), which is not a character"
    return f"a control character (\\x{ord(char):02x})"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored, or None when it can.

    Refused: NUL, lone surrogates and every other control character (Unicode category Cc);
    ``multiline`` allows line feed, carriage return and tab.
    """
    found = (_REFUSED_MULTILINE if multiline else _REFUSED).search(value)
    if found is None:
        return None
    return (f"contains {_name(found.group())} at position {found.start() + 1}: remove it "
            "(only printable characters are accepted)")


def printable(value: str) -> str:
    """``value`` with every refused character written as an escape (``\\x00``, ``\\ud800``), so that
    it can be shown in a message, a log or a stored rejection without harm."""
    return _REFUSED.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


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
