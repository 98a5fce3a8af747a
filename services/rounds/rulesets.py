"""Which ruleset governs which program year: the configured default, overridden per year.

Loads ruleset files once (at start-up, so a malformed one fails there) and answers rounds.
"""

from collections.abc import Mapping

from matching import Ruleset, load_ruleset


class RulesetCatalog:
    """Rulesets by program year: `by_year` first, then the default where it covers the year."""

    def __init__(self, default: str, by_year: Mapping[int, str] | None = None) -> None:
        self.default = load_ruleset(default)
        self.by_year = {year: load_ruleset(name) for year, name in (by_year or {}).items()}

    def __call__(self, program_year: int) -> Ruleset | None:
        if program_year in self.by_year:
            return self.by_year[program_year]
        return self.default if self.default.governs(program_year) else None
