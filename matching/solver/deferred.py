"""Mode `stable`: deferred acceptance over seats, applicant- or seat-proposing, in plain Python.

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

    A seat's holdings are a heap keyed by -(seat_pref * n_options + option), so the root is the
    held applicant the seat ranks lowest and the option is recovered from the key.
    """
    n, width = problem.n_applicants, max(problem.n_options, 1)
    bounds = np.searchsorted(problem.opt_applicant, np.arange(n + 1)).tolist()
    seat, owner = items(problem.opt_seat), items(problem.opt_applicant)
    keys = items(-(problem.seat_pref * width + np.arange(problem.n_options)))
    capacity = problem.capacity.tolist()
    held: list[list[int]] = [[] for _ in capacity]
    cursor = bounds[:-1]
    free = [a for a in range(n - 1, -1, -1) if bounds[a] < bounds[a + 1]]
    while free:
        a = free.pop()
        o, end = cursor[a], bounds[a + 1]
        while o < end:
            s, key = seat[o], keys[o]
            o += 1
            heap = held[s]
            if len(heap) < capacity[s]:
                heapq.heappush(heap, key)
                break
            if heap and heap[0] < key:
                free.append(owner[(-heapq.heapreplace(heap, key)) % width])
                break
        cursor[a] = o
    assignment: IntArray = np.full(n, -1, np.int64)
    options = np.fromiter((-k % width for h in held for k in h), np.int64)
    assignment[problem.opt_applicant[options]] = options
    return assignment


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
