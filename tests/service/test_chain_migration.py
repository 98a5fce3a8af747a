"""Revision 0007 chains the event log that was there before it, so the first round after the
upgrade draws with the same `h` a service that always kept the chain would have."""

import datetime as dt

from sqlalchemy import text

from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.store.db import make_engine, migrate
from tests.support.inbound_events import posted, registered
from tests.support.lottery import chain

AT = dt.datetime(2023, 4, 1, tzinfo=dt.UTC)


def test_the_upgrade_chains_existing_rows_and_the_intake_continues_the_chain(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0006")
    old = [("/applicant-portal", f"e-{k}") for k in range(7)]
    with engine.begin() as c:
        for source, event_id in old:
            c.execute(
                text(
                    "INSERT INTO event_log (source, event_id, subject, body) "
                    "VALUES (:s, :i, 'jip.applicant.registered', '{}')"
                ),
                {"s": source, "i": event_id},
            )
    migrate(engine)
    with engine.connect() as c:
        chained = c.execute(text("SELECT chain FROM event_log ORDER BY seq")).scalars().all()
    assert chained == [chain(old[: k + 1]) for k in range(len(old))]
    ruleset = load_ruleset()
    intake = Intake(engine, lambda _: ruleset, lambda: AT)
    intake.process([Inbound(None, registered("A-1")), Inbound(None, posted("V-1"))])
    with engine.connect() as c:
        last = c.execute(text("SELECT chain FROM event_log ORDER BY seq DESC LIMIT 1")).scalar()
    new = [("/applicant-portal", "reg-A-1-1"), ("/sme", "post-V-1-1")]
    assert last == chain(old + new)
    engine.dispose()


def test_rows_logged_without_their_chain_after_the_upgrade_are_chained_not_fatal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'mixed.db'}")
    migrate(engine)
    ruleset = load_ruleset()
    intake = Intake(engine, lambda _: ruleset, lambda: AT)
    intake.process([Inbound(None, registered("A-1"))])
    with engine.begin() as c:  # what the previous release writes: no chain column
        c.execute(
            text(
                "INSERT INTO event_log (source, event_id, subject, body) "
                "VALUES ('/sme', 'old-1', 'jip.vacancy.posted', '{}')"
            )
        )
    migrate(engine)  # already at head: changes nothing
    outcome = intake.process([Inbound(None, posted("V-1"))])
    assert outcome.accepted == 1
    with engine.connect() as c:
        chained = c.execute(text("SELECT chain FROM event_log ORDER BY seq")).scalars().all()
    logged = [("/applicant-portal", "reg-A-1-1"), ("/sme", "old-1"), ("/sme", "post-V-1-1")]
    assert chained == [chain(logged[: k + 1]) for k in range(len(logged))]
    engine.dispose()
