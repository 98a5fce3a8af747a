"""The round report shows what a mode traded (issue 15, item 5): for `stable-max` the
placements it gained over the lottery-broken `stable` round, for `optimal` the pairs that block
it (the stability it gave up), and for both the lottery seed the round drew with."""

import datetime as dt
import io

from rich.console import Console

from matching import load_ruleset
from services.intake.apply import Inbound, Intake
from services.ops.report import load_report, print_report
from services.store.db import make_engine, migrate
from tests.support.inbound_events import posted, registered, round_requested

AT = dt.datetime(2023, 4, 1, tzinfo=dt.UTC)


def _year(mode: str, tmp_path) -> dict:
    engine = make_engine(f"sqlite:///{tmp_path / f'{mode}.db'}")
    migrate(engine)
    ruleset = load_ruleset()
    people = [
        registered(f"A-{k}", preferences=[f"V-{k % 3}", f"V-{(k + 1) % 3}"]) for k in range(9)
    ]
    places = [posted(f"V-{j}", slots=[{"course": "B", "capacity": 2}]) for j in range(4)]
    events = [*people, *places, round_requested("R-1", at=AT, mode=mode)]
    Intake(engine, lambda _: ruleset, lambda: AT).process([Inbound(None, b) for b in events])
    report = load_report(engine, "R-1", lambda _: ruleset, AT)
    out = io.StringIO()
    print_report(Console(file=out, width=200), report)
    engine.dispose()
    return {"answer": report.answer, "text": out.getvalue()}


def test_a_stable_max_round_reports_its_gain_over_stable(tmp_path):
    shown = _year("stable-max", tmp_path)
    answer = shown["answer"]
    assert answer["gained_over_stable"] == answer["placed"] - answer["stable_placed"] >= 0
    assert "gained_over_stable" in shown["text"] and "stable_placed" in shown["text"]
    assert answer["lottery_seed"].startswith("R-1:") and "lottery_seed" in shown["text"]
    assert "blocking_pairs" not in answer


def test_an_optimal_round_reports_the_pairs_that_block_it(tmp_path):
    shown = _year("optimal", tmp_path)
    assert isinstance(shown["answer"]["blocking_pairs"], int)
    assert "blocking_pairs" in shown["text"] and "stable_placed" not in shown["answer"]
