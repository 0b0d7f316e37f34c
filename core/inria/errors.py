"""One exception type for every error a user can fix.

The CLI prints ``InriaError`` as one line (no traceback); anything else is a
bug and keeps its traceback.
"""
from __future__ import annotations

import difflib
from typing import Iterable


class InriaError(Exception):
    """A user-facing, one-line error naming the file, field or value at fault."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.where = where
        self.hint = hint
        text = f"{where}: {message}" if where else message
        if hint:
            text = f"{text}; {hint}"
        super().__init__(text.replace("\n", " "))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``did you mean 'x'?`` suffix, or the list of accepted values."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not choices:
        return "none is available"
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"accepted: {shown}"
