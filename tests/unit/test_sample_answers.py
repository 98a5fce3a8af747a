"""The sample year's answers (services.sample.answers): valid contract events, deterministic for
a seed, in the mix the demo promises, and one withdrawal of an applicant who had accepted."""

import datetime as dt
import json
from collections import Counter

from contracts import Kind, parse_event
from services.sample.answers import Offer, answer_offers

START = dt.datetime(2023, 5, 3, tzinfo=dt.UTC)
OFFERS = [Offer(f"2023-summer-1/A-{i:04d}", f"A-{i:04d}", 1 + i % 3) for i in range(400)]


def test_answers_are_valid_events_in_the_promised_mix_and_repeat_for_a_seed():
    bodies = answer_offers(OFFERS, seed=7, start=START)
    assert bodies == answer_offers(list(reversed(OFFERS)), seed=7, start=START)
    assert bodies != answer_offers(OFFERS, seed=8, start=START)
    events = [parse_event(b) for b in bodies]
    *answers, leaving = events
    assert all(e.type == f"jip.{Kind.PLACEMENT_RESPONDED.value}.v1" for e in answers)
    assert len({e.id for e in events}) == len(events)
    by_offer: dict[str, list[tuple[str, str]]] = {}
    for e in answers:
        by_offer.setdefault(e.data.placement_id, []).append((e.data.party, e.data.decision))
    both = sum(sorted(a) == [("applicant", "accepted"), ("host", "accepted")]
               for a in by_offer.values())  # fmt: skip
    declined = Counter(p for a in by_offer.values() for p, d in a if d == "declined")
    unanswered = len(OFFERS) - len(by_offer)
    assert 0.65 < both / len(OFFERS) < 0.85
    assert declined["applicant"] > 10 and declined["host"] > 10
    assert 0.02 < unanswered / len(OFFERS) < 0.1
    assert [e.time for e in events] == sorted(e.time for e in events)
    # the leaver accepted with both parties, and leaves as the next version
    assert leaving.type == f"jip.{Kind.APPLICANT_WITHDRAWN.value}.v1"
    offer = next(o for o in OFFERS if o.applicant_id == leaving.data.applicant_id)
    assert sorted(by_offer[offer.placement_id]) == [("applicant", "accepted"), ("host", "accepted")]
    assert leaving.data.version == offer.applicant_version + 1
    assert json.loads(bodies[0])["source"] in ("/sme-portal", "/applicant-portal")


def test_answers_within_a_window_happen_in_it_in_order():
    """The demo's answers to a round's offers must happen before the next round (its `time`):
    reports judge by event time which releases a round could refill."""
    within = dt.timedelta(seconds=4)
    events = [parse_event(b) for b in answer_offers(OFFERS, seed=7, start=START, within=within)]
    times = [e.time for e in events]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] >= START and times[-1] < START + within
    unspread = [parse_event(b).id for b in answer_offers(OFFERS, seed=7, start=START)]
    assert [e.id for e in events] == unspread  # the same answers, only their times differ
