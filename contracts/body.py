"""Reading a raw body as a JSON object, where every failure is a field error (`contracts.errors`):
the checks pydantic's parser does not make (NUL and unpaired surrogates in text, which PostgreSQL
cannot store; integers Python cannot read).

Imports the standard library and `contracts.errors` only.
"""

import json
import re
import sys
from typing import Any

from contracts.errors import MAX_LOC_CHARS, UNSAFE_CHARACTERS, FieldError

MAX_CHARACTER_ERRORS = 20
"""Errors of the character checks reported per body; the first ones name the problem."""

_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def unreadable(error: BaseException) -> str:
    """The reason of a body that broke the parser in an unforeseen way; names no body content."""
    if isinstance(error, RecursionError):
        return "cannot be read: nested too deeply"
    return f"cannot be read ({type(error).__name__})"


def may_hide_unsafe_text(raw: bytes) -> bool:
    """Whether a body pydantic accepted may hold NUL or an unpaired surrogate (as an escape)."""
    return b"\\u" in raw and _SUSPECT_ESCAPE.search(raw) is not None


class _HugeInt:
    """Stands for an integer literal with more digits than Python reads."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _read_int(literal: str) -> int | _HugeInt:
    digits = len(literal) - literal.startswith("-")
    limit = sys.get_int_max_str_digits()
    return _HugeInt(digits) if limit and digits > limit else int(literal)


def read_object(
    raw: bytes, known_names: frozenset[str] = frozenset()
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The body as a JSON object, or None with the errors that say why it is not one.

    An object whose text holds NUL or an unpaired surrogate, or an integer too long to read,
    comes with an error per offending field (at most MAX_CHARACTER_ERRORS). A field name
    outside `known_names` is written `<unknown field>` in a location: a name the contract does
    not define is body content, and dead letters carry none.
    """
    try:
        text = raw.decode("utf-8")  # strict: encoded surrogates are not UTF-8 either
    except UnicodeDecodeError as exc:
        return None, [
            FieldError("body", f"not JSON: not UTF-8 (invalid byte at offset {exc.start})")
        ]
    try:
        doc = json.loads(text, parse_int=_read_int)
    except json.JSONDecodeError as exc:
        return None, [FieldError("body", f"not JSON: {exc.msg} at offset {exc.pos}")]
    except Exception as exc:  # RecursionError, and whatever else the decoder may raise
        return None, [FieldError("body", f"not JSON: {unreadable(exc)}")]
    if not isinstance(doc, dict):
        return None, [FieldError("body", "a CloudEvent must be a JSON object")]
    return doc, unsafe_values(doc, known_names)


UNKNOWN_FIELD = "<unknown field>"
"""How a location names a field the contract does not define."""

Path = tuple["Path", str] | None
"""A location as a linked list (parent, part): a deep document costs no copies of its path."""


def unsafe_values(doc: Any, known_names: frozenset[str] = frozenset()) -> list[FieldError]:
    """An error for each string (key or value) with NUL or an unpaired surrogate, and each
    integer too long to read, in document order; walked without recursion (any depth)."""
    errors: list[FieldError] = []
    stack: list[tuple[Any, Path]] = [(doc, None)]
    while stack and len(errors) < MAX_CHARACTER_ERRORS:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key in reversed(list(value)):
                key_path = (path, key if key in known_names else UNKNOWN_FIELD)
                if reason := _text_problem(key):
                    errors.append(FieldError(_loc(key_path), f"field name: {reason}"))
                stack.append((value[key], key_path))
        elif isinstance(value, list):
            stack.extend((item, (path, str(i))) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, str) and (reason := _text_problem(value)):
            errors.append(FieldError(_loc(path), reason))
        elif isinstance(value, _HugeInt):
            limit = sys.get_int_max_str_digits()
            errors.append(FieldError(_loc(path), f"integer of {value.digits} digits (max {limit})"))
    return errors[:MAX_CHARACTER_ERRORS]


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "NUL characters are not allowed"
    if not text.isascii() and UNSAFE_CHARACTERS.search(text):
        return "unpaired surrogate escapes (\\ud800-\\udfff) are not allowed"
    return None


def _loc(path: Path) -> str:
    """`data.languages.0.test`; a location longer than MAX_LOC_CHARS keeps its end."""
    parts: list[str] = []
    while path is not None and sum(map(len, parts)) < 2 * MAX_LOC_CHARS:
        path, part = path
        parts.append(part)
    if path is not None:
        parts.append("...")
    text = ".".join(reversed(parts)) or "body"
    return text if len(text) <= MAX_LOC_CHARS else "..." + text[-(MAX_LOC_CHARS - 3) :]
