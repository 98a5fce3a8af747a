"""Text that came from events or files, made safe to print on a terminal through rich.

Imports rich only. Everything an event can set (types, ids, sources, error messages quoting
them) passes `shown` before a console prints it: rich markup is escaped, so `[link=...]` or
`[reverse]` print as written, and every character `str.isprintable` refuses (ESC, the C0 and
C1 sets, BiDi overrides and other format characters, separators and spaces other than the plain
one) prints as a visible escape such as `\\x1b`.
"""

import re


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
    return escape_markup(visible(str(value)))


_BRACKET = re.compile(r"(\\*)\[")
_TAG_AFTER = re.compile(r"[a-z#/@][^\[]*?\]")
_TRAILING = re.compile(r"\\+$")


def escape_markup(text: str) -> str:
    """`text` that rich's markup renders exactly as written.

    rich reads `[` that opens something tag-like after an odd run of backslashes as a literal
    (the run halved), and removes one backslash before any other `[`. `rich.markup.escape`
    covers the first case only (`\\[` not opening a tag lost its backslash), so each `[` is
    written for the case it is in. A trailing run of backslashes is doubled, so a tag that the
    caller's markup puts right after the text stays a tag.
    """

    def bracket(match: re.Match[str]) -> str:
        run = match.group(1)
        if _TAG_AFTER.match(text, match.end()):
            return f"{run}{run}\\["
        return f"{run}\\[" if run else "["

    escaped = _BRACKET.sub(bracket, text)
    trailing = _TRAILING.search(escaped)
    return escaped + trailing.group() if trailing else escaped
