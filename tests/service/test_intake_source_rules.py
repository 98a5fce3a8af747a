"""Source rules in the intake (SQLite): who may send a kind, and who may change an aggregate."""

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from matching.ruleset import load_ruleset
from services.intake.apply import Inbound, Intake
from services.intake.sources import SourceRules
from services.store.db import make_engine, migrate
from services.store.tables import ApplicantRow, DeadLetterRow, EventLogRow, InboxRow, VacancyRow
from tests.support.factories import YEAR
from tests.support.inbound_events import RECEIVED, GreedySolver
from tests.support.source_events import (
    FROZEN,
    RULES,
    closed,
    posted,
    registered,
    requested,
    withdrawn,
)

RULESET = load_ruleset()


@pytest.fixture(scope="module")
def engine_once() -> Iterator[Engine]:
    """One database for every example of a property (each example uses its own applicant)."""
    engine = make_engine("sqlite:///:memory:")
    migrate(engine)
    yield engine
    engine.dispose()


def make_intake(engine: Engine, rules: SourceRules | None) -> Intake:
    rulesets = lambda year: RULESET if year == YEAR else None  # noqa: E731
    return Intake(engine, rulesets, lambda: RECEIVED, GreedySolver(), source_rules=rules)


def feed(intake: Intake, *bodies: bytes):
    return intake.process([Inbound(None, b) for b in bodies])


def row(engine: Engine, table, key) -> object:
    with engine.connect() as c:
        return c.execute(select(table).where(list(table.__table__.primary_key)[0] == key)).first()


def dead_letters(engine: Engine) -> list[tuple[str, list[dict[str, str]]]]:
    with engine.connect() as c:
        rows = c.execute(select(DeadLetterRow.original_id, DeadLetterRow.errors)).all()
    return [(r.original_id, r.errors) for r in rows]


def test_a_foreign_max_version_withdrawal_is_a_dead_letter_and_the_portal_update_applies(engine):
    intake = make_intake(engine, RULES)
    feed(intake, registered("A-1", 1, "/applicant-portal", ["B"]))
    attack = feed(intake, withdrawn("A-1", FROZEN, "/university-portal"))
    update = feed(intake, registered("A-1", 2, "/applicant-portal", ["C"]))
    assert (attack.rejected, attack.accepted, update.accepted, update.stale) == (1, 0, 1, 0)
    applicant = row(engine, ApplicantRow, "A-1")
    assert (applicant.version, applicant.withdrawn) == (2, False)
    assert applicant.payload["courses"] == ["C"]
    [(original_id, errors)] = dead_letters(engine)
    assert original_id == f"wd-A-1-{FROZEN}" and errors[0]["loc"] == "source"
    assert "/university-portal" in errors[0]["msg"] and "/applicant-portal" in errors[0]["msg"]


def test_without_rules_the_same_withdrawal_freezes_the_applicant_as_before(engine):
    intake = make_intake(engine, None)
    feed(intake, registered("A-1", 1, "/applicant-portal", ["B"]))
    feed(intake, withdrawn("A-1", FROZEN, "/anyone"))
    update = feed(intake, registered("A-1", 2, "/applicant-portal", ["C"]))
    assert update.stale == 1 and row(engine, ApplicantRow, "A-1").withdrawn
    assert row(engine, ApplicantRow, "A-1").created_by == "/applicant-portal"


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (registered("A-1", 1, "/sme-portal", None), "applicant.*"),
        (posted("V-1", 1, "/applicant-portal"), "vacancy.*"),
        (requested("r-1", "/applicant-portal"), "round.requested"),
    ],
)
def test_a_kind_from_a_source_the_rules_do_not_allow_is_a_dead_letter_naming_the_rule(
    engine, body, rule
):
    intake = make_intake(engine, RULES)
    outcome = feed(intake, body)
    assert (outcome.rejected, outcome.accepted, outcome.rounds) == (1, 0, [])
    [(_, [error])] = dead_letters(engine)
    assert error["loc"] == "source" and f"rule {rule}" in error["msg"]
    with engine.connect() as c:  # nothing logged, and the id stays free for a corrected resend
        assert c.execute(select(EventLogRow)).all() == [] == c.execute(select(InboxRow)).all()


def test_a_kind_no_rule_names_may_come_from_operators_only(engine):
    intake = make_intake(engine, SourceRules.of({"applicant.*": ["/applicant-portal"]}))
    outcome = feed(intake, posted("V-1", 1, "/sme-portal"))
    [(_, [error])] = dead_letters(engine)
    assert outcome.rejected == 1 and "no rule" in error["msg"] and "vacancy.posted" in error["msg"]


def test_operator_sources_may_send_any_kind_and_change_any_aggregate(engine):
    intake = make_intake(engine, RULES)
    feed(intake, posted("V-1", 1, "/sme-portal"), registered("A-1", 1, "/applicant-portal", None))
    outcome = feed(
        intake,
        closed("V-1", 2, "/operator-console"),
        withdrawn("A-1", 2, "/operator-console"),
        requested("r-1", "/operator-console"),
    )
    assert (outcome.accepted, outcome.rejected, outcome.rounds) == (3, 0, ["r-1"])
    assert row(engine, VacancyRow, "V-1").closed and row(engine, ApplicantRow, "A-1").withdrawn
    assert row(engine, VacancyRow, "V-1").created_by == "/sme-portal"


def test_the_service_own_sources_pass_the_kind_rule(engine):
    intake = make_intake(engine, RULES)
    outcome = feed(intake, requested("r-cal", "/intern-match/calendar"))
    assert (outcome.accepted, outcome.rejected, outcome.rounds) == (1, 0, ["r-cal"])
    assert feed(intake, requested("r-own", "/intern-match-evil")).rejected == 1


def test_the_creator_is_the_first_accepted_event_even_within_one_batch(engine):
    intake = make_intake(engine, RULES)
    outcome = feed(
        intake,
        withdrawn("A-1", 1, "/sme-portal"),  # refused by kind: does not become the creator
        registered("A-1", 2, "/university-portal", None),
        registered("A-1", 3, "/applicant-portal", None),
        withdrawn("A-1", 4, "/university-portal"),
    )
    assert (outcome.accepted, outcome.rejected) == (2, 2)
    applicant = row(engine, ApplicantRow, "A-1")
    assert (applicant.created_by, applicant.version, applicant.withdrawn) == (
        "/university-portal",
        4,
        True,
    )


def test_a_vacancy_is_changed_by_its_creator_only(engine):
    rules = SourceRules.of({"vacancy.*": ["/sme-a", "/sme-b"]})
    intake = make_intake(engine, rules)
    feed(intake, posted("V-1", 1, "/sme-a"))
    outcome = feed(intake, closed("V-1", 2, "/sme-b"), posted("V-1", 3, "/sme-a"))
    assert (outcome.rejected, outcome.accepted) == (1, 1)
    assert row(engine, VacancyRow, "V-1").version == 3 and not row(engine, VacancyRow, "V-1").closed


def test_rules_turned_on_later_judge_by_the_creator_stored_without_them(engine):
    feed(make_intake(engine, None), registered("A-1", 1, "/applicant-portal", None))
    outcome = feed(make_intake(engine, RULES), withdrawn("A-1", FROZEN, "/university-portal"))
    assert outcome.rejected == 1 and not row(engine, ApplicantRow, "A-1").withdrawn


_COUNTER = iter(range(10**9))
SEQUENCES = st.lists(
    st.tuples(
        st.booleans(),  # withdrawal or registration
        st.sampled_from(["/applicant-portal", "/university-portal", "/operator-console", "/x"]),
        st.integers(1, 4),
        st.booleans(),  # a batch ends after this event
    ),
    max_size=8,
)


def model(events, rules: SourceRules) -> tuple[int, bool, str | None]:
    """The applicant after the events: a plain reading of the rules, for the intake to equal."""
    version, gone, creator, seen = 0, False, None, set()
    for withdrawal, source, v, _ in events:
        kind = "applicant.withdrawn" if withdrawal else "applicant.registered"
        allowed = source in rules.allowed(kind)
        if not allowed or creator not in (None, source) and source not in rules.operators:
            continue
        creator = creator or source
        if (source, kind, v) not in seen and v > version:
            version, gone = v, withdrawal
        seen.add((source, kind, v))
    return version, gone, creator


@settings(max_examples=60, deadline=None)
@given(SEQUENCES)
def test_the_intake_applies_any_sequence_of_sources_as_the_rules_say(engine_once, events):
    applicant_id = f"A-{next(_COUNTER)}"
    intake = make_intake(engine_once, RULES)
    batch: list[bytes] = []
    for withdrawal, source, version, ends in events:
        make = withdrawn if withdrawal else lambda i, v, s: registered(i, v, s, None)
        batch.append(make(applicant_id, version, source))
        if ends:
            feed(intake, *batch)
            batch = []
    feed(intake, *batch)
    found = row(engine_once, ApplicantRow, applicant_id)
    state = (found.version, found.withdrawn, found.created_by) if found else (0, False, None)
    assert state == model(events, RULES)
