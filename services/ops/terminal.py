"""Text that came from events or files, made safe to print on a terminal through rich.

Imports rich only. Everything an event can set (types, ids, sources, error messages quoting
them) passes `shown` before a console prints it: rich markup is escaped, so `[link=...]` or
`[reverse]` print as written, and every character `str.isprintable` refuses (ESC, the C0 and
C1 sets, BiDi overrides and other format characters, separators and spaces other than the plain
one) prints as a visible escape such as `\\x1b`.
"""

from rich.markup import escape


def visible(text: str) -> str:
    """`text` with every control or invisible format character written as a Python escape."""
    if text.isprintable():
        return text
    return "".join(_escape_char(ch) if _hidden(ch) else ch for ch in text)


def _hidden(ch: str) -> bool:
    """Control, format, separator and unassigned characters: all but the plain space that
    `str.isprintable` refuses (a no-break space looks like a space and is not one)."""
    return not ch.isprintable()


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(value: object) -> str:
    """`value` as text for rich: control characters made visible, markup escaped."""
    return escape(visible(str(value)))
