"""Typed access to the keys of a ruleset file, with errors that name the key.

Imports the standard library and matching.errors only.
"""

import datetime as dt
from typing import Any

from matching.errors import RulesetError


def month_day(key: str, value: str) -> tuple[int, int]:
    """(month, day) of a `MM-DD` text, like `08-31`."""
    try:
        if len(value) != 5 or value[2] != "-":
            raise ValueError(value)
        date = dt.date(2001, int(value[:2]), int(value[3:]))  # 29 February is refused
    except ValueError:
        raise RulesetError(f"{key}: {value!r} is not a month-day like '08-31'") from None
    return date.month, date.day


class Reader:
    """Typed access to dotted keys, raising `RulesetError` that names the key."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def value(self, key: str) -> Any:
        node: Any = self._data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise RulesetError(f"{key}: missing")
            node = node[part]
        return node

    def table(self, key: str) -> dict[str, Any]:
        value = self.value(key)
        if not isinstance(value, dict):
            raise RulesetError(f"{key}: expected a table")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        if default is not None and not self.has(key):
            return default
        value = self.value(key)
        if not isinstance(value, str) or not value:
            raise RulesetError(f"{key}: expected a non-empty string, got {value!r}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise RulesetError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
        return value

    def integer(self, key: str, minimum: int = 0, optional: bool = False) -> Any:
        if optional and not self.has(key):
            return None
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise RulesetError(f"{key}: expected an integer >= {minimum}, got {value!r}")
        return value

    def number(self, key: str) -> float:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise RulesetError(f"{key}: expected a number >= 0, got {value!r}")
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.value(key)
        if not isinstance(value, bool):
            raise RulesetError(f"{key}: expected true or false, got {value!r}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.value(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RulesetError(f"{key}: expected a list of strings, got {value!r}")
        return value

    def has(self, key: str) -> bool:
        try:
            self.value(key)
        except RulesetError:
            return False
        return True
