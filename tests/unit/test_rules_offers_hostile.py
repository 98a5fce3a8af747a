"""Generated hostile values for the `[offers]` and `[periods]` tables and for the `report`
command's `--year` / `--as-of` flags: each ends loaded or refused with a message naming the key
or flag, never in another exception or a traceback."""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from matching import load_ruleset
from matching.errors import RulesetError
from services.cli.main import app

SHIPPED = Path(__file__).resolve().parents[2] / "matching" / "rulesets" / "fy2023-announced.toml"
SHIPPED_TEXT = SHIPPED.read_text()
OFFERS, PERIODS = (
    SHIPPED_TEXT.split(f"[{t}]\n")[1].split("\n\n")[0] for t in ("offers", "periods")
)
"""The bodies of the shipped tables, replaced by generated entries."""

SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["05-15", "02-30", "13-01", "00-00", "5-15", "host", "committee", ""]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["start", "end", "x"]), inner, max_size=3), max_leaves=8,
)  # fmt: skip
KEYS = st.sampled_from(["parties", "response_days", "summer", "winter", "autumn", "x"])


def _toml(value: object) -> str:
    """A TOML inline value (JSON spells most of them; a table is written inline)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return json.dumps(value)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=st.sampled_from(["offers", "periods"]), entries=st.dictionaries(KEYS, VALUES, max_size=3)
)
def test_any_offers_or_periods_table_loads_or_names_what_is_wrong(tmp_path_factory, table, entries):
    text = SHIPPED_TEXT
    assert (OFFERS if table == "offers" else PERIODS) in text
    body = "\n".join(f"{k} = {_toml(v)}" for k, v in entries.items())
    text = text.replace(OFFERS if table == "offers" else PERIODS, body, 1)
    folder = tmp_path_factory.mktemp("r")
    (folder / "r.toml").write_text(text)
    (folder / "dac-2022-2023.txt").write_text("PK\n")
    try:
        ruleset = load_ruleset(folder / "r.toml")
    except RulesetError as error:
        message = str(error)
        assert message and "Traceback" not in message
        return
    assert set(ruleset.offers.parties) <= {"host", "applicant", "committee"}
    assert ruleset.offers.response_days >= 0
    assert set(ruleset.periods) == {"summer", "winter"}


@settings(max_examples=60, deadline=None)
@given(year=st.text(max_size=12), as_of=st.text(max_size=30))
def test_report_flags_of_any_text_end_in_a_usage_error_or_a_named_problem(year, as_of):
    result = CliRunner().invoke(
        app, ["report", "--year", year, "--as-of", as_of], env={"INTERN_MATCH_DATABASE_URL":
                                                                 "sqlite:////nonexistent/x.db"}
    )  # fmt: skip
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
