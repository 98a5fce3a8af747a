"""Rulesets load from the package by name or from a file by path; malformed ones name the key."""

from pathlib import Path

import pytest

from matching.errors import RulesetError
from matching.ruleset import DEFAULT_RULESET, available_rulesets, load_ruleset

SHIPPED = Path(__file__).resolve().parents[2] / "matching" / "rulesets"


def test_both_fy2023_rulesets_ship_and_announced_is_the_default():
    assert available_rulesets() == ("fy2023-announced", "fy2023-official")
    assert load_ruleset().name == DEFAULT_RULESET == "fy2023-announced"


def test_official_differs_from_announced_only_where_the_rules_say():
    announced, official = load_ruleset("fy2023-announced"), load_ruleset("fy2023-official")
    assert (announced.age_min, announced.age_reference) == (20, (8, 31))
    assert (official.age_min, official.age_reference) == (18, (8, 1))
    assert (announced.japanese_min, official.japanese_min) == ("N2", "N3")
    assert (announced.midsize_employees, official.midsize_employees) == (None, 2000)
    assert announced.nationalities == official.nationalities
    assert announced.sme_limits == official.sme_limits


def test_a_ruleset_survives_pickling_for_worker_processes():
    import pickle

    ruleset = load_ruleset("fy2023-official")
    assert pickle.loads(pickle.dumps(ruleset)) == ruleset


def test_nationality_list_excludes_china_and_holds_pakistan():
    ruleset = load_ruleset()
    assert "CN" not in ruleset.nationalities and "PK" in ruleset.nationalities


def test_summer_runs_courses_a_b_c_and_winter_a2_b2():
    ruleset = load_ruleset()
    assert ruleset.courses_in("summer") == ("A", "B", "C")
    assert ruleset.courses_in("winter") == ("A2", "B2")


def test_a_ruleset_loads_from_a_path_with_its_list_beside_it(tmp_path):
    text = (SHIPPED / "fy2023-announced.toml").read_text().replace("fy2023-announced", "custom")
    (tmp_path / "custom.toml").write_text(text)
    (tmp_path / "dac-2022-2023.txt").write_text("# two only\nPK\nCN\n")
    ruleset = load_ruleset(tmp_path / "custom.toml")
    assert ruleset.name == "custom" and ruleset.nationalities == frozenset({"PK"})


def test_an_unknown_name_lists_the_shipped_rulesets():
    with pytest.raises(RulesetError, match="fy2023-announced"):
        load_ruleset("fy1999")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("min = 20", 'min = "twenty"', "age.min"),
        ('reference = "08-31"', 'reference = "31-08"', "age.reference"),
        ('japanese_min = "N2"', 'japanese_min = "N6"', "language.japanese_min"),
        ('english_min = "B2"', 'english_min = "B3"', "language.english_min"),
        ("max_km = 50", "max_km = -1", "commuting.max_km"),
        ('list = "dac-2022-2023.txt"', 'list = "nowhere.txt"', "nationality.list"),
        ('A = { mode = "commuting"', 'A = { mode = "flying"', "courses.A.mode"),
        ("retail = { capital_jpy", "retail_x = { capital_jpy", "hosts.sme"),
        ("B2 = 785", "B2 = 999", "english_scores.TOEIC"),
        ("native_counts = true", "native_counts = 1", "language.native_counts"),
    ],
)
def test_a_malformed_ruleset_fails_on_load_naming_the_key(tmp_path, old, new, key):
    text = (SHIPPED / "fy2023-announced.toml").read_text()
    assert old in text
    (tmp_path / "bad.toml").write_text(text.replace(old, new, 1))
    (tmp_path / "dac-2022-2023.txt").write_text("PK\n")
    with pytest.raises(RulesetError) as error:
        load_ruleset(tmp_path / "bad.toml")
    assert str(error.value).startswith(key)


def test_a_missing_key_is_named():
    text = (SHIPPED / "fy2023-announced.toml").read_text().replace("max = 40\n", "")
    with pytest.raises(RulesetError, match=r"^age\.max: missing"):
        load_ruleset_text(text)


def load_ruleset_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "r.toml").write_text(text)
        (Path(folder) / "dac-2022-2023.txt").write_text("PK\n")
        return load_ruleset(Path(folder) / "r.toml")


def test_shipped_fy2023_rulesets_govern_2023_only() -> None:
    for name in ("fy2023-announced", "fy2023-official"):
        ruleset = load_ruleset(name)
        assert ruleset.governs(2023)
        assert not ruleset.governs(2031)


def test_program_years_that_are_not_years_name_the_key(tmp_path: Path) -> None:
    import matching

    folder = Path(matching.__file__).parent / "rulesets"
    source = (folder / "fy2023-announced.toml").read_text()
    (tmp_path / "dac-2022-2023.txt").write_text((folder / "dac-2022-2023.txt").read_text())
    bad = tmp_path / "bad.toml"
    bad.write_text(source.replace("program_years = [2023]", 'program_years = ["2023"]'))
    with pytest.raises(RulesetError, match="program_years"):
        load_ruleset(bad)
