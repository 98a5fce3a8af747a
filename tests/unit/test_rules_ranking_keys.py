"""`[ranking]` of a ruleset: max_options and max_pairs ship in both rulesets and are checked at
load, a bad value naming the key and the reason."""

from pathlib import Path

import pytest

from matching.errors import RulesetError
from matching.ruleset import load_ruleset

SHIPPED = Path(__file__).resolve().parents[2] / "matching" / "rulesets"


def load_text(tmp_path: Path, text: str):
    (tmp_path / "r.toml").write_text(text)
    (tmp_path / "dac-2022-2023.txt").write_text("PK\n")
    return load_ruleset(tmp_path / "r.toml")


@pytest.mark.parametrize("name", ["fy2023-announced", "fy2023-official"])
def test_both_shipped_rulesets_state_the_ranking_budget(name):
    text = (SHIPPED / f"{name}.toml").read_text()
    assert "max_options = 200" in text and "max_pairs = 4_000_000" in text
    ruleset = load_ruleset(name)
    assert (ruleset.max_options, ruleset.max_pairs) == (200, 4_000_000)


def test_a_ruleset_without_the_table_takes_the_defaults(tmp_path):
    text = (SHIPPED / "fy2023-announced.toml").read_text()
    start = text.index("[ranking]")
    ruleset = load_text(tmp_path, text[:start] + text[text.index("[hosts]") :])
    assert (ruleset.max_options, ruleset.max_pairs) == (200, 4_000_000)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "max_options = 200",
            "max_options = 0",
            r"^ranking\.max_options: .*integer >= 1,",
        ),
        ("max_options = 200", "max_options = -5", r"^ranking\.max_options: .* got -5"),
        ("max_options = 200", 'max_options = "200"', r"^ranking\.max_options: .* got '200'"),
        ("max_options = 200", "max_options = 2.5", r"^ranking\.max_options: .* got 2\.5"),
        ("max_options = 200", "max_options = true", r"^ranking\.max_options: .* got True"),
        (
            "max_pairs = 4_000_000",
            "max_pairs = 0",
            r"^ranking\.max_pairs: .*integer >= 1,",
        ),
        ("max_pairs = 4_000_000", "max_pairs = 4e6", r"^ranking\.max_pairs: .* got 4000000\.0"),
        ("max_pairs = 4_000_000", "max_pair = 400", r"^ranking\.max_pair: unknown key"),
    ],
)
def test_a_bad_ranking_value_names_the_key_and_the_reason(tmp_path, old, new, message):
    text = (SHIPPED / "fy2023-announced.toml").read_text()
    assert old in text
    with pytest.raises(RulesetError, match=message):
        load_text(tmp_path, text.replace(old, new, 1))


def test_a_ranking_that_is_not_a_table_is_named(tmp_path):
    text = (SHIPPED / "fy2023-announced.toml").read_text()
    start, end = text.index("[ranking]"), text.index("[hosts]")
    with pytest.raises(RulesetError, match=r"^ranking: expected a table"):
        load_text(tmp_path, "ranking = 3\n" + text[:start] + text[end:])
