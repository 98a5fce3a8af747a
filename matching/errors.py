"""Why a round cannot run: raised by matching, written as `round.failed` by the service.

Imports the standard library only. Messages carry counts and rule names, never personal data.
"""


class RoundFailed(Exception):
    """The round's market breaks a rule of the ruleset; `str(error)` is the round.failed reason."""


class TooManyPairs(RoundFailed):
    """More admissible pairs than the ruleset's `[ranking] max_pairs`: decided by counting, so
    the same events fail the same way on every machine."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"admissible pairs {count:,} exceed the ruleset's max_pairs {limit:,}")
        self.count = count
        self.limit = limit

    def __reduce__(self) -> tuple[type["TooManyPairs"], tuple[int, int]]:
        return TooManyPairs, (self.count, self.limit)
