"""The verdict of a fault scenario: the end state equals the calm oracle's, every outbox event is
in the stream with its stored body, and no id was ever published with two different bodies.
Imports the harness and the oracle; never the service's internals.
"""

import asyncio

from sqlalchemy import Engine

from tests.faults.harness import Recorder, stream_outbound
from tests.faults.oracle import EndState, differences, read_end_state


async def verdict(oracle: EndState, engine: Engine, nats_url: str, recorder: Recorder) -> list[str]:
    """Every way the faulty run differs from the calm one; empty when nothing was lost or
    doubled."""
    actual = await asyncio.to_thread(read_end_state, engine)
    problems = differences(oracle, actual)
    stored = await stream_outbound(nats_url)
    in_stream: dict[str, bytes] = {}
    for event_id, body in stored:
        if event_id in in_stream:
            problems.append(f"outbound id {event_id} stored twice in the stream")
        in_stream[event_id] = body
    missing = [i for i in actual.outbox if i not in in_stream]
    altered = [i for i, body in actual.outbox.items() if i in in_stream and in_stream[i] != body]
    unknown = [i for i in in_stream if i not in actual.outbox]
    if missing or altered or unknown:
        problems.append(
            f"stream vs outbox: {len(missing)} missing {missing[:3]}, {len(altered)} altered "
            f"{altered[:3]}, {len(unknown)} unknown {unknown[:3]}"
        )
    divergent = recorder.divergent()
    if divergent:
        problems.append(f"{len(divergent)} ids re-published with a different body: {divergent[:3]}")
    never_seen = [i for i in actual.outbox if i not in recorder.bodies]
    if never_seen:
        problems.append(
            f"{len(never_seen)} outbound ids never seen by the subscriber: {never_seen[:3]}"
        )
    return problems
