"""Text that came from events or files, made safe to print on a terminal through rich.

Imports rich only. Everything an event can set (types, ids, sources, error messages quoting
them) passes `shown` before a console prints it: rich markup is escaped, so `[link=...]` or
`[reverse]` print as written, and control characters (ESC, the C0 and C1 sets, BiDi overrides
and other invisible format characters) print as visible escapes such as `\\x1b`.
"""

import unicodedata

from rich.markup import escape

_INVISIBLE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))


def visible(text: str) -> str:
    """`text` with every control or invisible format character written as a Python escape."""
    if text.isprintable():
        return text
    return "".join(_escape_char(ch) if _hidden(ch) else ch for ch in text)


def _hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _INVISIBLE


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(value: object) -> str:
    """`value` as text for rich: control characters made visible, markup escaped."""
    return escape(visible(str(value)))
