"""The round runner: expires the offers past their deadline, builds a round's snapshot from the
tables, calls the solver, and writes the round, its placements (offers, `proposed`) and its
outbound events in the caller's transaction. Never imports brokers.
"""

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from contracts import RoundRequested
from matching import RoundFailed, RoundResult, Ruleset, Snapshot, SolverUnavailable, round_seed
from services.collector import collector_paused
from services.outbound.events import dry_run_tag, to_outbox_values, to_round_failed, to_round_rows
from services.outbound.outbox import ANALYZE_FROM, enqueue_rows, requeue
from services.rounds.guard import time_refusal
from services.rounds.offers import PROPOSED, expire
from services.rounds.snapshot import load_snapshot
from services.store.db import copy_rows
from services.store.tables import PlacementRow, RoundRow, table_of

log = logging.getLogger(__name__)

SolveRound = Callable[[Snapshot], RoundResult]
RulesetFor = Callable[[int], Ruleset | None]

_ROUNDS = table_of(RoundRow)
_PLACEMENTS = table_of(PlacementRow)


class RoundRunner:
    """Runs `round.requested` events; a round id that already ran only re-queues its answer.

    A dry run uses up no round id: it stores nothing, and its answer's id is tagged by its own
    request (`origin`: the request's source and id), so a real run of the id still runs.
    """

    def __init__(self, rulesets: RulesetFor, solve_round: SolveRound, time_limit: float) -> None:
        self._rulesets = rulesets
        self._solve = solve_round
        self._time_limit = time_limit

    def time_refusal(self, request: RoundRequested, at: dt.datetime) -> str | None:
        """Why a request at `at` may not run (services.rounds.guard), or None."""
        ruleset = self._rulesets(request.program_year)
        return None if ruleset is None else time_refusal(ruleset, request, at)

    def on_round_requested(
        self,
        connection: Connection,
        request: RoundRequested,
        at: dt.datetime,
        origin: tuple[str, str] = ("", ""),
        chain: str = "",
    ) -> bool:
        """Run the round on the state the connection sees; False when the round id already ran.

        `chain` is `h` over the inbound events taken before the request: the lottery draws with
        `round_id + ":" + chain`, or with a dry run's own `lottery_seed`.

        `at` is the request's event time, the time of the round's outbound events. A real
        round first releases the offers of its year due before `at` (`expired`), so their
        release events precede its own; a dry run computes as if it had, and changes nothing.
        """
        earlier = connection.execute(
            select(_ROUNDS.c.final_event_id).where(_ROUNDS.c.round_id == request.round_id)
        ).scalar_one_or_none()
        if earlier is not None:
            requeue(connection, earlier)
            return False
        tag = dry_run_tag(*origin) if request.dry_run else None
        ruleset = self._rulesets(request.program_year)
        if ruleset is None:
            reason = f"unknown program year {request.program_year}"
            self.fail(connection, request, at, reason, origin)
            return True
        released = [] if request.dry_run else expire(connection, request.program_year, at)
        if released:
            log.info(
                "offers expired before the round",
                extra={"round_id": request.round_id, "expired": len(released)},
            )
        with collector_paused():
            figures = self._solve_and_store(
                connection, request, ruleset, at, chain, tag, origin, released
            )
        if figures is not None:
            log.info("round stored; its events are queued for publishing", extra=figures)
        return True

    def _solve_and_store(
        self,
        connection: Connection,
        request: RoundRequested,
        ruleset: Ruleset,
        at: dt.datetime,
        chain: str,
        tag: str | None,
        origin: tuple[str, str],
        released: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        """Load, solve and store the round (or its failure: then None), its events queued after
        `released` (the expiry's release events, one COPY for both); the figures to log.

        Its snapshot, market and result are gone when it returns, before the collector resumes
        (`collector_paused`): resumed with them alive, the collector's first pass scans them all,
        holding the GIL (a million applicants: over 10 s, past the lease). An error that leaves
        the batch to be tried again is raised without the frames that hold them.
        """
        started = time.perf_counter()
        seed = request.lottery_seed or round_seed(request.round_id, chain)
        snapshot = load_snapshot(connection, request, ruleset, self._time_limit, at, seed)
        loaded = time.perf_counter()
        try:
            result = self._solve(snapshot)
        except (SQLAlchemyError, SolverUnavailable) as error:  # no outcome: tried again
            del snapshot
            raise error.with_traceback(None) from None
        except RoundFailed as error:  # the market breaks a rule, e.g. [ranking] max_pairs
            log.warning("round failed", extra={"round_id": request.round_id})
            self.fail(connection, request, at, str(error), origin, released)
            return None
        except Exception as error:  # a solver defect must not stop the intake
            log.error(
                "round failed",
                extra={"round_id": request.round_id, "error": type(error).__name__},
            )
            reason = f"the solver raised {type(error).__name__}"
            self.fail(connection, request, at, reason, origin, released)
            return None
        solved = time.perf_counter()
        result = dataclasses.replace(result, lottery_seed=snapshot.seed)  # the seed drawn
        respond_by = ruleset.respond_by(at, request.program_year, request.period)
        self._complete(connection, request, at, result, respond_by, tag, released)
        return {
            "round_id": request.round_id,
            "status": result.status,
            "applicants": result.applicants,
            "placements": len(result.placements),
            "load_seconds": round(loaded - started, 2),
            "round_seconds": round(solved - loaded, 2),
            "store_seconds": round(time.perf_counter() - solved, 2),
        }

    def _complete(
        self,
        connection: Connection,
        request: RoundRequested,
        at: dt.datetime,
        result: RoundResult,
        respond_by: dt.datetime,
        tag: str | None,
        released: list[dict[str, Any]],
    ) -> None:
        outbound = to_round_rows(result, request, at, respond_by, tag)
        if not request.dry_run:
            final = outbound[-1]["event_id"]  # round.completed
            _insert_round(connection, request, result.status, final, result.lottery_seed)
        if not request.dry_run and result.placements:
            due = respond_by.astimezone(dt.UTC)  # stored in UTC: SQLite drops offsets
            rows = [
                {
                    "round_id": request.round_id,
                    "applicant_id": p.applicant_id,
                    "program_year": request.program_year,
                    "period": request.period,
                    "vacancy_id": p.vacancy_id,
                    "course": p.course,
                    "state": PROPOSED,
                    "respond_by": due,
                    "accepted_by": "",
                    "company_id": p.company_id,
                }
                for p in result.placements
            ]
            _insert_placements(connection, rows)
        enqueue_rows(connection, released + outbound, request.round_id)

    def fail(
        self,
        connection: Connection,
        request: RoundRequested,
        at: dt.datetime,
        reason: str,
        origin: tuple[str, str] = ("", ""),
        released: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Store the round as failed with `reason` and queue its `round.failed` at `at`, after
        `released` (an expiry's release events); a dry run stores nothing and uses up no round
        id (its answer's id is tagged by `origin`)."""
        tag = dry_run_tag(*origin) if request.dry_run else None
        failed = to_round_failed(request.round_id, reason, at, tag)
        if not request.dry_run:
            _insert_round(connection, request, "failed", failed.id)
        enqueue_rows(connection, [*released, to_outbox_values(failed)], request.round_id)


_PLACEMENT_COLUMNS = (
    "round_id",
    "applicant_id",
    "program_year",
    "period",
    "vacancy_id",
    "course",
    "state",
    "respond_by",
    "accepted_by",
    "company_id",
)


def _insert_placements(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL takes a round's placements by COPY; other databases by executemany.

    Then PostgreSQL's statistics of the table are refreshed: with statistics that still count
    the placements before the round, the planner joins each batch of answers' updates to the
    whole table by a hash of every row (10-16 ms per batch of 500 answers behind 28,000
    placements, growing with the table) instead of the primary key."""
    if connection.dialect.name != "postgresql":
        connection.execute(insert(_PLACEMENTS), rows)
        return
    copy_rows(connection, "placements", _PLACEMENT_COLUMNS, rows)
    if len(rows) >= ANALYZE_FROM:
        connection.exec_driver_sql("ANALYZE placements")


def _insert_round(
    connection: Connection,
    request: RoundRequested,
    status: str,
    final_event_id: str,
    lottery_seed: str | None = None,
) -> None:
    last = connection.execute(select(func.max(_ROUNDS.c.ordinal))).scalar_one_or_none()
    row = {
        "round_id": request.round_id,
        "ordinal": (last or 0) + 1,
        "program_year": request.program_year,
        "period": request.period,
        "mode": request.mode,
        "dry_run": request.dry_run,
        "status": status,
        "final_event_id": final_event_id,
        "lottery_seed": lottery_seed,
    }
    connection.execute(insert(_ROUNDS), [row])
