"""Offers at the intake (lifecycle.md): answers judged and applied, and the releases that a
withdrawal, a closure or a capacity cut causes, in the causing event's transaction. Imports
sqlalchemy, contracts, services.intake (errors, parsing, sources) and services.rounds.offers;
never brokers or the solver.
"""

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from contracts import FieldError, Kind, ReleaseReason, subject_of
from matching import lottery_number
from services.intake.errors import AnswerRefusedError, SourceRefusedError
from services.intake.parsing import Accepted, Answer
from services.intake.sources import SourceRules
from services.rounds.offers import (
    Offer,
    OfferWrites,
    capacities,
    confirm,
    load_touched,
    record_acceptance,
    release,
    split_placement_id,
)
from services.rounds.runner import RulesetFor
from services.store.tables import ApplicantRow, VacancyRow, table_of

log = logging.getLogger(__name__)

_CREATORS = {"applicant": table_of(ApplicantRow), "vacancy": table_of(VacancyRow)}
_DEFAULT_PARTIES = ("host", "applicant")
_PARTY_ORDER = ("host", "applicant", "committee")
_SUBJECT = subject_of(Kind.PLACEMENT_RESPONDED)
_DECLINES: dict[str, ReleaseReason] = {
    "host": "declined_by_host",
    "applicant": "declined_by_applicant",
    "committee": "declined_by_committee",
}


@dataclass
class OfferCounts:
    """What a batch's lifecycle did that no other count shows."""

    answers_ignored: int = 0
    """Answers to placements already released: acknowledged, changing nothing."""
    over_capacity: int = 0
    """Seats a capacity cut left holding more confirmed placements than their capacity."""


@dataclass
class OfferDesk:
    """The offers one batch's events touch, loaded once (again after a round) and kept in step
    with what this batch writes.

    Offer changes, their outbound events and the answers received go to `writes` (the batch's
    Segment), staged in the order of the inbound events beside the dead letters and written
    in bulk.
    """

    connection: Connection
    events: Sequence[Accepted]
    rulesets: RulesetFor
    source_rules: SourceRules | None
    writes: OfferWrites
    counts: OfferCounts = field(default_factory=OfferCounts)
    _offers: dict[tuple[str, str], Offer] | None = None

    def preload(self, offers: list[Offer]) -> None:
        """The offers `_loaded` would read, read ahead with the batch's other reads."""
        self._offers = {(o.round_id, o.applicant_id): o for o in offers}

    def forget(self) -> None:
        """A round ran (it added offers and may have expired some): load again when needed."""
        self._offers = None

    def on_answer(self, event: Accepted) -> AnswerRefusedError | SourceRefusedError | None:
        """Apply an answer, or the reason it is a dead letter (then nothing changed)."""
        answer = event.answer
        if answer is None:
            raise TypeError("an accepted placement.responded without its answer")
        offer = self._loaded().get(split_placement_id(answer.placement_id))
        if offer is None:
            return self._refused(event, "data.placement_id", _unknown(answer))
        ruleset = self.rulesets(offer.program_year)
        parties = ruleset.offers.parties if ruleset is not None else _DEFAULT_PARTIES
        if answer.party not in parties:
            return self._refused(event, "data.party", _not_required(answer, parties))
        reason = self._source_refusal(offer, answer, event.source)
        if reason is not None:
            errors = [FieldError("source", reason)]
            return SourceRefusedError(errors, event.event_id, _SUBJECT, event.source)
        self._record(event, answer, offer, self._apply(event, answer, offer, parties))
        return None

    def _apply(self, event: Accepted, answer: Answer, offer: Offer, parties: Sequence[str]) -> str:
        at = _time(event)
        if not offer.is_live:
            self.counts.answers_ignored += 1
            return "ignored_released"
        if answer.decision == "declined":
            detail = f"declined by the {answer.party}"
            release(self.writes, [offer], _DECLINES[answer.party], detail, at)
            return "released"
        if answer.party in offer.accepted_by:
            return "already_accepted"
        record_acceptance(self.writes, offer, answer.party, _PARTY_ORDER)
        if not all(p in offer.accepted_by for p in parties):
            return "applied"
        confirm(self.writes, offer, at)
        return "confirmed"

    def on_withdrawn(self, event: Accepted) -> None:
        """An applied withdrawal releases the applicant's live placement."""
        live = [o for o in self._loaded().values() if o.applicant_id == event.aggregate_id]
        live.sort(key=lambda o: o.placement_id)
        self._release(live, "applicant_withdrawn", "the applicant withdrew", event)

    def on_closed(self, event: Accepted) -> None:
        """An applied closure releases every live placement of the vacancy, by placement id."""
        live = [o for o in self._loaded().values() if o.vacancy_id == event.aggregate_id]
        live.sort(key=lambda o: o.placement_id)
        self._release(live, "vacancy_closed", "the vacancy was closed", event)

    def on_posted(self, event: Accepted) -> None:
        """An applied posting that lowers a course's capacity below its live placements releases
        proposed ones until it fits: the latest round's first, then in that round's lottery
        order, last drawn first; never a confirmed one."""
        live = [o for o in self._loaded().values() if o.vacancy_id == event.aggregate_id]
        if not live or event.payload is None:
            return
        capacity = capacities(event.payload)
        for course in sorted({o.course for o in live}):
            held = [o for o in live if o.course == course and o.is_live]
            excess = len(held) - capacity.get(course, 0)
            if excess <= 0:
                continue
            proposed = [o for o in held if o.state == "proposed"]
            proposed.sort(key=_cut_order, reverse=True)
            cut = proposed[:excess]
            detail = f"course {course} of the vacancy now has {capacity.get(course, 0)} seats"
            self._release(cut, "capacity_reduced", detail, event)
            if excess > len(cut):
                self.counts.over_capacity += 1
                log.warning(
                    "confirmed placements exceed a seat's new capacity; an operator resolves it",
                    extra={
                        "vacancy_id": event.aggregate_id,
                        "course": course,
                        "over_by": excess - len(cut),
                    },
                )

    def _release(
        self, offers: list[Offer], reason: ReleaseReason, detail: str, event: Accepted
    ) -> None:
        """Release the live ones of `offers` in the order given."""
        live = [o for o in offers if o.is_live]
        if live:
            release(self.writes, live, reason, detail, _time(event))

    def _loaded(self) -> dict[tuple[str, str], Offer]:
        """The live offers of the batch's withdrawn applicants and of its closed or posted
        vacancies, and every offer of the applicants its answers name."""
        if self._offers is None:
            offers = load_touched(self.connection, *touched(self.events))
            self._offers = {(o.round_id, o.applicant_id): o for o in offers}
        return self._offers

    def _refused(self, event: Accepted, loc: str, reason: str) -> AnswerRefusedError:
        return AnswerRefusedError([FieldError(loc, reason)], event.event_id, _SUBJECT, event.source)

    def _source_refusal(self, offer: Offer, answer: Answer, source: str) -> str | None:
        rules = self.source_rules
        if rules is None:
            return None
        host = self._creator("vacancy", offer.vacancy_id) if answer.party == "host" else None
        applicant = None
        if answer.party == "applicant":
            applicant = self._creator("applicant", offer.applicant_id)
        return rules.answer_refusal(answer.party, source, host, applicant)

    def _creator(self, aggregate: str, aggregate_id: str) -> str | None:
        table = _CREATORS[aggregate]
        key = table.c[f"{aggregate}_id"]
        query = select(table.c.created_by).where(key == aggregate_id)
        creator: str | None = self.connection.execute(query).scalar_one_or_none()
        return creator

    def _record(self, event: Accepted, answer: Answer, offer: Offer, outcome: str) -> None:
        self.writes.answered(
            {
                "placement_id": answer.placement_id,
                "round_id": offer.round_id,
                "party": answer.party,
                "decision": answer.decision,
                "source": event.source,
                "event_id": event.event_id,
                "time": _time(event),
                "outcome": outcome,
            }
        )


def touched(events: Sequence[Accepted]) -> tuple[set[str], set[str], set[str]]:
    """The applicants withdrawn, the vacancies closed or posted, and the applicants answered
    for, in a batch: whose placements `OfferDesk._loaded` reads."""
    applicants, vacancies, answered = set(), set(), set()
    for event in events:
        if event.kind is Kind.APPLICANT_WITHDRAWN and event.aggregate_id is not None:
            applicants.add(event.aggregate_id)
        elif event.kind in (Kind.VACANCY_CLOSED, Kind.VACANCY_POSTED):
            if event.aggregate_id is not None:
                vacancies.add(event.aggregate_id)
        elif event.answer is not None:
            answered.add(split_placement_id(event.answer.placement_id)[1])
    return applicants, vacancies, answered


def _cut_order(offer: Offer) -> tuple[int, int, str]:
    """Ascending: released last. The round's place in the stream, then its lottery number (a
    round stored before the lottery has no seed: its applicant ids stand in)."""
    seed = offer.lottery_seed
    number = 0 if seed is None else lottery_number(seed, offer.applicant_id)
    return offer.ordinal, number, offer.applicant_id


def _time(event: Accepted) -> dt.datetime:
    if event.time is None:
        raise TypeError(f"an accepted {event.kind.value} without its time")
    return event.time


def _unknown(answer: Answer) -> str:
    return (
        f"no round made placement {answer.placement_id}: an answer names the placement_id of a "
        f"jip.placement.made (lifecycle.md: an unknown placement_id is a dead letter)"
    )


def _not_required(answer: Answer, parties: Sequence[str]) -> str:
    return (
        f"party {answer.party} does not answer offers of this program year: the ruleset's "
        f"[offers] parties are {', '.join(parties)} (lifecycle.md: a party the ruleset does not "
        f"require is a dead letter)"
    )
