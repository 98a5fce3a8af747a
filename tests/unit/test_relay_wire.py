"""The relay writes its HPUB commands itself (services.outbound.acks.hpub): they must be the
bytes nats-py's own publish writes for the same message, with the same headers, for any body
and any of the service's ids."""

import asyncio
import string

from hypothesis import given, settings
from hypothesis import strategies as st
from nats.aio.client import Client

from contracts import STREAM
from services.outbound.acks import hpub, wire_size
from services.outbound.outbox import OutboxRow

IDS = st.text(string.ascii_letters + string.digits + "._-/", min_size=1, max_size=300)
"""Outbound event ids: `placement-<round>-<applicant>`, `<placement_id>/released`, `dlq-…`."""


def nats_py_bytes(row: OutboxRow, reply: str) -> bytes:
    """What nats-py's publish hands its writer for the message (captured, not sent)."""
    client, written = Client(), []

    async def capture(command: bytes, priority: bool = False) -> None:
        written.append(command)

    client._send_command = capture  # type: ignore[method-assign]
    headers = {"Nats-Msg-Id": row.event_id, "Nats-Expected-Stream": STREAM}
    asyncio.run(client._send_publish(row.subject, reply, row.body, len(row.body), headers))
    return b"".join(written)


@settings(max_examples=300, deadline=None)
@given(
    IDS,
    st.sampled_from(["jip.placement.made", "jip.placement.released", "jip.dlq.applicant"]),
    st.binary(max_size=2_000),
    st.integers(1, 10**12),
)
def test_the_relay_writes_the_bytes_nats_py_writes(event_id, subject, body, token):
    row = OutboxRow(seq=1, event_id=event_id, subject=subject, body=body)
    reply = f"_INBOX.abcdef.{token}"
    command = hpub(row, reply)
    assert command == nats_py_bytes(row, reply)
    header_size = int(command.split(b"\r\n", 1)[0].split()[3])
    assert wire_size(row) == header_size + len(body)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=40))
def test_an_id_or_subject_that_could_break_a_protocol_line_never_goes_out(event_id, subject):
    """Any text at all: a row goes out only as the bytes nats-py would write, and one whose id
    or subject holds a blank or a control character (which would end the command's line early
    and let the rest be read as commands) is refused."""
    row = OutboxRow(seq=7, event_id=event_id, subject=subject, body=b"{}")
    breaking = any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in event_id + subject)
    breaking = breaking or not event_id or not subject  # `HPUB  <reply> …`: the reply's subject
    try:
        command = hpub(row, "_INBOX.x.1")
    except ValueError as error:
        assert breaking and "outbox row 7" in str(error)
    else:
        assert not breaking
        assert command == nats_py_bytes(row, "_INBOX.x.1")
