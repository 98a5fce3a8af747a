"""10,000 fuzzed bodies: the consumer stays up and every one becomes a dead letter."""

import signal

from sqlalchemy import func, select

from contracts import ContractError, Kind, parse_event
from services.sample.generator import generate_year
from services.store.tables import InboxRow
from tests.faults.corpus import Delivery
from tests.faults.fuzz import Fuzzer
from tests.faults.harness import publish
from tests.faults.oracle import read_end_state


def _is_valid(body: bytes) -> bool:
    try:
        return parse_event(body).kind is Kind.APPLICANT_REGISTERED
    except ContractError:
        return False


async def test_ten_thousand_fuzzed_bodies_each_become_a_dead_letter_and_intake_goes_on(
    start_service, nats_server, probe, engine, recorder
):
    fuzzed = Fuzzer(seed=5).bodies(10_000)
    valid = next(b for b in generate_year(seed=9, applicants=3, vacancies=1) if _is_valid(b))
    seqs = await publish(
        nats_server.url, [*fuzzed, Delivery("jip.applicant.registered", valid, None)]
    )
    service = start_service()
    service.start()

    await probe.settled(seqs[-1], rounds=0, timeout=180)
    assert service.terminate(signal.SIGTERM) == 0

    state = read_end_state(engine)
    with engine.connect() as c:
        inbox = c.execute(select(func.count()).select_from(InboxRow)).scalar_one()
    assert len({d.body for d in fuzzed}) == 10_000
    assert len(state.dead_letters) == 10_000
    assert state.event_log == 1 and inbox == 1
    assert len(state.applicants) + len(state.vacancies) == 1
    assert state.unsent == 0 and len(state.outbox) == 10_000
    assert recorder.divergent() == []
    assert set(state.outbox) <= set(recorder.bodies)
