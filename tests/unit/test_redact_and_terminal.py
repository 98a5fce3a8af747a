"""Credentials never reach a printed URL, and event-derived text never reaches a terminal as
markup or control sequences: properties over generated hostile input (hypothesis)."""

import io
import string

from hypothesis import assume, given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from services.ops.terminal import shown, visible
from services.redact import redact_text, redact_url

_SAFE = string.ascii_letters + string.digits + "-._~!$'()*+=:@/%"
_HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){0,2}", fullmatch=True)
_SECRETS = st.text(alphabet=_SAFE, min_size=6, max_size=30)
_SCHEMES = st.sampled_from(["nats", "tls", "ws", "postgresql+psycopg", "sqlite", "redis"])
_PORTS = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
_USERS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


def _parts_do_not_contain(secret: str, *parts: str) -> None:
    assume(all(secret not in part for part in parts))


@given(_SCHEMES, _USERS, _SECRETS, _HOSTS, _PORTS)
def test_a_password_in_user_password_form_is_never_shown(scheme, user, secret, host, port):
    _parts_do_not_contain(secret, scheme, user, host, port, "/jip")
    url = f"{scheme}://{user}:{secret}@{host}{port}/jip"

    assert secret not in redact_url(url)
    assert redact_url(url).endswith(f"{host}{port}/jip")
    assert secret not in redact_text(f"cannot connect to {url} (refused)")


@given(_SCHEMES, _SECRETS, _HOSTS, _PORTS)
def test_a_bare_token_before_the_host_is_never_shown(scheme, secret, host, port):
    _parts_do_not_contain(secret, scheme, host, port)

    assert secret not in redact_url(f"{scheme}://{secret}@{host}{port}")


@given(
    _SCHEMES,
    _HOSTS,
    st.text(alphabet=string.ascii_letters + string.digits + "-._~", min_size=6),
    st.sampled_from(["password", "PASSWORD", "pass", "token", "auth_token", "sslkey", "secret"]),
    st.sampled_from(["?", "?sslmode=require&", "?a=1;"]),
)
def test_a_secret_in_the_query_string_is_never_shown(scheme, host, secret, key, lead):
    _parts_do_not_contain(secret, scheme, host, key, lead)
    url = f"{scheme}://{host}/db{lead}{key}={secret}&x=1"

    assert secret not in redact_url(url)
    assert "x=1" in redact_url(url)


@given(_USERS, _SECRETS, _HOSTS, _SECRETS, _HOSTS)
def test_every_server_of_a_server_list_loses_its_credentials(user, secret, host, token, other):
    _parts_do_not_contain(secret, user, host, other, "nats")
    _parts_do_not_contain(token, user, host, other, "nats")
    url = f"nats://{user}:{secret}@{host}:4222,nats://{token}@{other}:4223"

    assert secret not in redact_url(url) and token not in redact_url(url)


_MARKUP = st.sampled_from(
    ["[reverse]", "[/reverse]", "[link=http://evil.example]", "[/link]", "[bold red]", "[/]",
     "\x1b]8;;http://x\x1b\\", "\x1b[7m", "\x1b[2J", "\x9b31m", "\u202e", "\u2066", "\x07",
     "\r", "\n", "\x00", "\\", ":smile:", "[", "]"]
)  # fmt: skip
_HOSTILE = st.lists(st.one_of(_MARKUP, st.text(max_size=5)), max_size=12).map("".join)


def _rendered(text: str) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=400,
                      highlight=False, emoji=False)  # fmt: skip
    console.print(text, soft_wrap=True)
    return buffer.getvalue()


@given(_HOSTILE)
def test_event_text_prints_as_written_with_no_escape_byte_and_no_style(hostile):
    out = _rendered(shown(hostile))
    written = visible(hostile)
    trailing = len(written) - len(written.rstrip("\\"))
    written += "\\" * trailing  # a trailing run is doubled, so no later tag is escaped

    assert "\x1b" not in out and "\x9b" not in out  # no style, link or cursor movement
    assert Text.from_markup(shown(hostile), emoji=False).plain == written  # as written
    assert out.rstrip("\n") == written


@given(st.text())
def test_visible_text_holds_no_control_or_bidi_character(text):
    assert visible(text).isprintable()
    assert visible(text) == text or "\\" in visible(text)
