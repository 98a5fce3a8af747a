"""Source rules on PostgreSQL: the creator is stored by the COPY upsert and judged there too."""

import pytest
from sqlalchemy import select

from services.intake.apply import Inbound, Intake
from services.store.db import make_engine, migrate
from services.store.tables import ApplicantRow
from tests.support.databases import throwaway_database
from tests.support.inbound_events import T0, GreedySolver
from tests.support.source_events import FROZEN, RULES, registered, withdrawn

pytestmark = pytest.mark.integration


def test_a_foreign_withdrawal_is_refused_and_the_creator_kept_on_postgresql(postgres_url):
    with throwaway_database(postgres_url, prefix="im_src") as url:
        engine = make_engine(url)
        migrate(engine)
        intake = Intake(engine, lambda _: None, lambda: T0, GreedySolver(), source_rules=RULES)
        feed = lambda *bs: intake.process([Inbound(None, b) for b in bs])  # noqa: E731
        first = feed(
            registered("A-1", 1, "/applicant-portal", None),
            withdrawn("A-1", 2, "/operator-console"),
        )
        attack = feed(withdrawn("A-1", FROZEN, "/university-portal"))
        update = feed(registered("A-1", 3, "/applicant-portal", None))
        with engine.connect() as c:
            row = c.execute(select(ApplicantRow)).one()
        engine.dispose()
    assert (first.accepted, attack.rejected, update.accepted) == (2, 1, 1)
    assert (row.version, row.withdrawn, row.created_by) == (3, False, "/applicant-portal")
