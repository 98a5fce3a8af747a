"""Credentials out of URLs and texts quoting them, before anything is printed or logged.

Imports the standard library only, so every module (settings, client, CLI, logs) can use it.
"""

import re

_HIDDEN = "***"
_SECRET_KEYS = re.compile(r"pass|pwd|token|secret|key|auth|cred|sig", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#?]*)=([^&;#]*)")
_NEXT_SERVER = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def redact_url(url: str) -> str:
    """`url` without credentials: no `user:password@` or `token@` part, and `***` for the value
    of query parameters named like a secret (`?password=`, `?token=`, `?sslkey=`).

    A comma-separated server list (`nats://a:1,nats://b:2`) is redacted server by server.
    """
    servers = _NEXT_SERVER.split(url)
    if len(servers) > 1:
        return ",".join(redact_url(server) for server in servers)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest = _QUERY_PAIR.sub(_hide_secret_value, rest)
    return scheme + sep + rest.rpartition("@")[2]


def _hide_secret_value(match: re.Match[str]) -> str:
    mark, key, value = match.groups()
    return f"{mark}{key}={_HIDDEN}" if _SECRET_KEYS.search(key) and value else match.group(0)


def redact_text(text: str) -> str:
    """`text` (an error message, say) with every URL in it redacted by `redact_url`."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
