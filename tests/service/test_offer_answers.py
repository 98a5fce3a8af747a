"""Answers to offers through the intake, on SQLite and PostgreSQL (lifecycle.md): every
transition, every dead-letter rule, answers to released placements counted and not
dead-lettered."""

import dataclasses
import datetime as dt

from sqlalchemy import Engine, select

from matching import OfferRules, load_ruleset
from services.intake.sources import SourceRules
from services.store.tables import EventLogRow, InboxRow
from tests.service.offer_support import (
    R1_AT,
    answers,
    dead_letter_errors,
    engine,
    feed,
    ids,
    make_intake,
    outbound,
    pg_url,
    states,
)
from tests.support.inbound_events import (
    GreedySolver,
    posted,
    registered,
    responded,
    round_requested,
)

__all__ = ["engine", "pg_url"]  # fixtures

ANSWER_AT = dt.datetime(2023, 4, 3, 12, tzinfo=dt.UTC)


def placed(engine: Engine, solver: GreedySolver | None = None, **intake_kw: object):
    """A-1 and A-2 placed by round R-1 in V-1 (capacity 2); the intake that did it."""
    intake = make_intake(engine, solver or GreedySolver(), **intake_kw)  # type: ignore[arg-type]
    feed(intake, registered("A-1"), registered("A-2"), posted("V-1", capacity=2))
    feed(intake, round_requested("R-1", at=R1_AT))
    return intake


def test_a_round_stores_its_placements_proposed_with_their_deadline_on_placement_made(engine):
    placed(engine)
    made = [e for e in outbound(engine) if e["type"] == "jip.placement.made.v1"]
    assert [m["data"]["respond_by"] for m in made] == ["2023-04-15T00:00:00Z"] * 2
    assert states(engine) == {"R-1/A-1": ("proposed", None), "R-1/A-2": ("proposed", None)}


def test_every_required_party_accepting_confirms_once_at_the_last_answers_time(engine):
    intake = placed(engine)
    feed(intake, responded("R-1/A-1", "host", at=ANSWER_AT))
    assert states(engine)["R-1/A-1"] == ("proposed", None)
    assert ids(engine, "jip.placement.confirmed") == []
    feed(intake, responded("R-1/A-1", "applicant", source="/applicant-portal", at=ANSWER_AT))
    feed(intake, responded("R-1/A-1", "host", event_id="again", at=ANSWER_AT))
    (confirmed,) = [e for e in outbound(engine) if e["type"] == "jip.placement.confirmed.v1"]
    assert confirmed["id"] == "R-1/A-1/confirmed" and confirmed["time"] == "2023-04-03T12:00:00Z"
    assert confirmed["data"] == {
        "placement_id": "R-1/A-1",
        "round_id": "R-1",
        "program_year": 2023,
        "period": "summer",
        "applicant_id": "A-1",
        "vacancy_id": "V-1",
        "company_id": "C-1",
        "course": "B",
    }
    assert states(engine)["R-1/A-1"] == ("confirmed", None)
    assert [a[3] for a in answers(engine)] == ["applied", "confirmed", "already_accepted"]


def test_a_decline_releases_the_offer_and_a_later_acceptance_is_counted_not_dead_lettered(
    engine,
):
    """lifecycle.md: an answer to a released placement is acknowledged, changes nothing and is
    counted. (Issue 13's test list calls an acceptance after a decline a dead letter; the
    contract, lifecycle.md, wins: answers cross in the post.)"""
    intake = placed(engine)
    feed(intake, responded("R-1/A-1", "applicant", "declined", source="/applicant-portal"))
    outcome = feed(intake, responded("R-1/A-1", "host", "accepted"))
    (released,) = [e for e in outbound(engine) if e["type"] == "jip.placement.released.v1"]
    assert released["id"] == "R-1/A-1/released"
    assert (released["data"]["reason"], released["data"]["detail"]) == (
        "declined_by_applicant",
        "declined by the applicant",
    )
    assert (outcome.accepted, outcome.rejected, outcome.answers_ignored) == (1, 0, 1)
    assert dead_letter_errors(engine) == []
    assert states(engine)["R-1/A-1"] == ("released", "declined_by_applicant")
    assert [a[3] for a in answers(engine)] == ["released", "ignored_released"]


def test_a_decline_after_confirmation_releases_the_placement(engine):
    intake = placed(engine)
    feed(
        intake,
        responded("R-1/A-2", "host"),
        responded("R-1/A-2", "applicant", source="/applicant-portal"),
        responded("R-1/A-2", "host", "declined"),
    )
    assert ids(engine, "jip.placement.")[-2:] == ["R-1/A-2/confirmed", "R-1/A-2/released"]
    assert states(engine)["R-1/A-2"] == ("released", "declined_by_host")


def test_a_declined_pair_is_barred_and_its_seat_and_applicant_go_back_to_the_pool(engine):
    solver = GreedySolver()
    intake = placed(engine, solver)
    feed(intake, responded("R-1/A-1", "host", "declined"))
    feed(intake, round_requested("R-2", at=R1_AT + dt.timedelta(days=1)))
    later = solver.seen[-1]
    assert [(p.applicant_id, p.state) for p in later.earlier_placements] == [("A-2", "proposed")]
    assert later.barred_pairs == frozenset({("A-1", "V-1")})


def test_an_answer_for_an_unknown_placement_is_a_dead_letter_that_spends_nothing(engine):
    intake = placed(engine)
    outcome = feed(intake, responded("R-9/A-1", "host"))
    ((loc, msg),) = dead_letter_errors(engine)
    assert (outcome.accepted, outcome.rejected) == (0, 1)
    assert loc == "data.placement_id" and "no round made placement R-9/A-1" in msg
    with engine.connect() as c:
        inbox = set(c.execute(select(InboxRow.event_id)).scalars())
        logged = set(c.execute(select(EventLogRow.event_id)).scalars())
    spent = "answer-R-9-A-1-host-accepted"
    assert spent not in inbox and spent not in logged and answers(engine) == []


def test_an_answer_by_a_party_the_ruleset_does_not_require_is_a_dead_letter(engine):
    intake = placed(engine)
    feed(intake, responded("R-1/A-1", "committee", source="/committee"))
    ((loc, msg),) = dead_letter_errors(engine)
    assert loc == "data.party" and "[offers] parties are host, applicant" in msg
    assert states(engine)["R-1/A-1"] == ("proposed", None)


def test_a_ruleset_requiring_the_committee_confirms_only_after_its_acceptance(engine):
    ruleset = dataclasses.replace(
        load_ruleset(), offers=OfferRules(parties=("host", "applicant", "committee"))
    )
    intake = placed(engine, ruleset=ruleset)
    feed(intake, responded("R-1/A-1", "host"), responded("R-1/A-1", "applicant"))
    assert states(engine)["R-1/A-1"] == ("proposed", None)
    feed(intake, responded("R-1/A-1", "committee", source="/committee"))
    assert states(engine)["R-1/A-1"] == ("confirmed", None)


RULES = SourceRules.of(
    {
        "applicant.*": ["/applicant-portal"],
        "vacancy.*": ["/sme"],
        "round.requested": ["/scheduler"],
        "placement.responded": ["/sme", "/other-sme", "/applicant-portal"],
        "committee": ["/committee"],
        "operators": ["/ops"],
    }
)


def test_with_source_rules_each_party_answers_from_its_own_source_or_an_operators(engine):
    intake = placed(engine, rules=RULES)
    feed(
        intake,
        responded("R-1/A-1", "host", source="/other-sme"),
        responded("R-1/A-1", "applicant", source="/sme", event_id="sme-as-applicant"),
        responded("R-1/A-1", "host", source="/sme"),
        responded("R-1/A-1", "applicant", source="/ops"),
    )
    errors = dead_letter_errors(engine)
    assert [loc for loc, _ in errors] == ["source", "source"]
    assert "may not answer for the host" in errors[0][1]
    assert "created the applicant (/applicant-portal)" in errors[1][1]
    assert states(engine)["R-1/A-1"] == ("confirmed", None)


def test_with_source_rules_committee_answers_come_from_committee_sources(engine):
    ruleset = dataclasses.replace(
        load_ruleset(), offers=OfferRules(parties=("host", "applicant", "committee"))
    )
    intake = placed(engine, ruleset=ruleset, rules=RULES)
    feed(
        intake,
        responded("R-1/A-1", "committee", source="/sme"),
        responded("R-1/A-1", "committee", "declined", source="/committee"),
    )
    ((loc, msg),) = dead_letter_errors(engine)
    assert loc == "source" and "may not answer for the committee" in msg
    assert states(engine)["R-1/A-1"] == ("released", "declined_by_committee")


def test_outbound_events_keep_the_order_of_the_inbound_events_that_caused_them(engine):
    intake = placed(engine)
    feed(
        intake,
        b'{"not": "an event"}',
        responded("R-1/A-1", "host", "declined"),
        responded("R-9/A-9", "host"),
        responded("R-1/A-2", "host", "declined"),
    )
    tail = [e["type"].split(".")[1] for e in outbound(engine)][-4:]
    assert tail == ["dlq", "placement", "dlq", "placement"]
