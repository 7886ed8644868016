"""Values as other programs write them into files (token counts, verdicts), made into evalkit's types or refused."""

from __future__ import annotations

import math
from typing import Any

# Verdicts written as text, as harnesses and spreadsheets write them.
_TRUE = frozenset({"true", "1", "1.0", "yes", "y", "correct", "c", "t"})
_FALSE = frozenset({"false", "0", "0.0", "no", "n", "incorrect", "wrong", "i", "f"})


def token_count(value: Any) -> int | None:
    """A token count as a whole number of at least 0: an integer, a whole float (`812.0`) or digits in a string
    (`"812"`); None when absent. Raises ValueError for anything else (negative, fractional, nan, inf, a boolean)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a token count")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ValueError("text that is not a number is not a token count") from None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError("a token count is a whole number")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"a {type(value).__name__} is not a token count")
    if value < 0:
        raise ValueError("a token count is not negative")
    return value


def verdict(value: Any) -> bool | None:
    """A verdict as harnesses write it: a boolean, 0 or 1, or the obvious words (`"False"`, `"0"`, `"correct"`, ...,
    any case); None when absent. Raises ValueError for anything else: `"False"` is no more correct than `False`."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError("a verdict is true or false, 1 or 0")


def shown(value: Any, width: int = 40) -> str:
    """A value quoted for a one-line message, cut to `width` characters (a damaged field can be megabytes)."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


class TokenCounts:
    """The token counts of one source file: each made a whole number, or kept as unknown when it is not one, and
    the ones that were not said once (a count is a detail: the responses and verdicts are imported all the same)."""

    def __init__(self) -> None:
        self.unknown = 0
        self._examples: list[str] = []

    def read(self, value: Any, where: str) -> int | None:
        try:
            return token_count(value)
        except ValueError:
            self.unknown += 1
            if len(self._examples) < 3:
                self._examples.append(f"{where}: {shown(value)}")
            return None

    def note(self) -> str | None:
        """One line on the counts that were not counts, or None when every count was one."""
        if not self.unknown:
            return None
        more = f" and {self.unknown - len(self._examples)} more" if self.unknown > len(self._examples) else ""
        return (f"{self.unknown} token counts are not whole numbers of at least 0 ({'; '.join(self._examples)}{more}) "
                "and are recorded as unknown")  # fmt: skip


def finite_number(value: Any) -> float | None:
    """A finite number (a reported score), or None for anything else: a boolean, nan, inf, text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def text_or_none(value: Any) -> str | None:
    """A text field (a finish reason): the text, or None when the file holds anything else there."""
    return value if isinstance(value, str) else None
