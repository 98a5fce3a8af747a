"""Mode `stable`: deferred acceptance over seats, applicant-proposing on arrays, seat-proposing
in plain Python.

Part of the solver subpackage; imports numpy and matching.problem only (no ortools needed here).
"""

import heapq
import time

import numpy as np

from matching.problem import IntArray, Problem, Solution, lexsort

__all__ = ["applicant_proposing", "items", "seat_proposing", "solve_stable"]


def solve_stable(problem: Problem) -> Solution:
    """The applicant-optimal stable matching: unique, hence `optimal` by definition."""
    started = time.perf_counter()
    assignment = applicant_proposing(problem)
    chosen = assignment[assignment >= 0]
    total = float(problem.cost[chosen].sum())
    return Solution(assignment, "optimal", total, total, time.perf_counter() - started)


def applicant_proposing(problem: Problem) -> IntArray:
    """Applicants propose down their lists; each seat keeps the best `capacity` by `seat_pref`.

    In rounds, on arrays: every free applicant proposes to the next option on the list at once,
    and each seat that got proposals keeps its best `capacity` of those it held and the new ones.
    The applicant-optimal stable matching does not depend on the order proposals are made in
    (preferences are strict on both sides: `seat_pref` is distinct within a seat), so this is the
    one-at-a-time algorithm's result, in 41 rounds at a million applicants instead of 1.2 million
    loop turns (9.4 s -> 2.1 s). A round costs time in the seats and the holdings, however few
    propose, so once few are left to propose (a long chain of rejections, e.g. one applicant down
    a list of thousands of full seats) the tail goes one proposal at a time (`_one_at_a_time`).
    """
    n, opt_seat, seat_pref = problem.n_applicants, problem.opt_seat, problem.seat_pref
    owner, capacity = problem.opt_applicant, problem.capacity
    bounds = np.searchsorted(owner, np.arange(n + 1))
    cursor, end = bounds[:-1].copy(), bounds[1:]
    free = np.flatnonzero(cursor < end)
    held = np.empty(0, np.int64)
    touched = np.zeros(problem.n_seats, dtype=bool)
    while free.size:
        if free.size * TAIL_RATIO < held.size + problem.n_seats:
            held = _one_at_a_time(problem, held, free, cursor, end)
            break
        proposed = cursor[free]
        cursor[free] += 1
        touched[opt_seat[proposed]] = True
        contested = touched[opt_seat[held]]
        touched[:] = False
        contest = np.concatenate((held[contested], proposed))
        seats = opt_seat[contest]
        order = lexsort((seat_pref[contest], seats))
        contest, seats = contest[order], seats[order]
        first = np.flatnonzero(np.r_[True, seats[1:] != seats[:-1]])
        rank = np.arange(seats.size) - np.repeat(first, np.diff(np.r_[first, seats.size]))
        kept = rank < capacity[seats]
        held = np.concatenate((held[~contested], contest[kept]))
        rejected = owner[contest[~kept]]
        free = rejected[cursor[rejected] < end[rejected]]
    assignment: IntArray = np.full(n, -1, np.int64)
    assignment[owner[held]] = held
    return assignment


TAIL_RATIO = 200
"""Rounds give way to proposals one at a time once fewer than 1/200 of the holdings and seats
propose: a round's array passes cost about that many loop turns."""


def _one_at_a_time(
    problem: Problem, held: IntArray, free: IntArray, cursor: IntArray, end: IntArray
) -> IntArray:
    """Deferred acceptance from this state on, one proposal at a time; the options held at the
    end. A seat's holdings become a heap when a proposal first reaches it, keyed by
    -(seat_pref * width + option) in Python's unbounded ints (the arrays read through `items`),
    so the root is the held applicant the seat ranks lowest and the option is recovered from
    the key."""
    width = max(problem.n_options, 1)
    by_seat = held[np.argsort(problem.opt_seat[held], kind="stable")]
    held_seats = problem.opt_seat[by_seat]
    seat, pref = items(problem.opt_seat), items(problem.seat_pref)
    owner, capacity = items(problem.opt_applicant), items(problem.capacity)
    heaps: dict[int, list[int]] = {}

    def heap_of(s: int) -> list[int]:
        heap = heaps.get(s)
        if heap is None:
            lo, hi = np.searchsorted(held_seats, [s, s + 1])
            heap = [-(pref[o] * width + o) for o in by_seat[lo:hi].tolist()]
            heapq.heapify(heap)
            heaps[s] = heap
        return heap

    waiting = free.tolist()[::-1]
    while waiting:
        a = waiting.pop()
        o, stop = int(cursor[a]), int(end[a])
        while o < stop:
            s = seat[o]
            key = -(pref[o] * width + o)
            o += 1
            heap = heap_of(s)
            if len(heap) < capacity[s]:
                heapq.heappush(heap, key)
                break
            if heap and heap[0] < key:
                waiting.append(owner[(-heapq.heapreplace(heap, key)) % width])
                break
        cursor[a] = o
    untouched = by_seat[~np.isin(held_seats, np.fromiter(heaps, np.int64, len(heaps)))]
    again = np.fromiter((-k % width for h in heaps.values() for k in h), np.int64)
    return np.concatenate((untouched, again))


def items(values: IntArray) -> "memoryview[int]":
    """The array's items as Python ints, read one at a time where a loop visits them: a list of
    every option (`tolist`) cost as much again as the loop touching a few, and a tenth of the
    round's memory at a million applicants (an int object per option)."""
    return np.ascontiguousarray(values, dtype=np.int64).data


def seat_proposing(problem: Problem) -> IntArray:
    """The seat-optimal stable matching: seats offer down their lists, applicants keep the best."""
    by_seat = lexsort((problem.seat_pref, problem.opt_seat))
    bounds = np.searchsorted(problem.opt_seat[by_seat], np.arange(problem.n_seats + 1)).tolist()
    order, seat = items(by_seat), items(problem.opt_seat)
    owner, pref = items(problem.opt_applicant), items(problem.applicant_pref)
    capacity = problem.capacity.tolist()
    holding, count = [-1] * problem.n_applicants, [0] * problem.n_seats
    cursor = bounds[:-1]
    pending = [s for s in range(problem.n_seats - 1, -1, -1) if capacity[s] > 0]
    while pending:
        s = pending.pop()
        while count[s] < capacity[s] and cursor[s] < bounds[s + 1]:
            o = order[cursor[s]]
            cursor[s] += 1
            a, current = owner[o], holding[owner[o]]
            if current >= 0 and pref[current] < pref[o]:
                continue
            holding[a] = o
            count[s] += 1
            if current >= 0:
                count[seat[current]] -= 1
                pending.append(seat[current])
    return np.asarray(holding, dtype=np.int64)
