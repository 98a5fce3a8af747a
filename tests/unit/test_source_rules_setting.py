"""Source rules: the setting's validation, the start warning, and the rule against a reference."""

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import INBOUND_KINDS
from services.intake.sources import SourceRules, log_rules_at_start
from services.settings import Settings
from services.source_config import OPERATORS, to_config

KINDS = [k.value for k in INBOUND_KINDS]
AGGREGATE_KINDS = {k for k in KINDS if k.split(".")[0] in ("applicant", "vacancy")}
SOURCES = ["/a", "/b", "/c", "/intern-match", "/intern-match/calendar", "/intern-match-x"]


def test_the_setting_reads_json_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "INTERN_MATCH_SOURCES", '{"applicant.*": ["/p", "/a", "/p"], "operators": ["/ops"]}'
    )
    assert Settings().sources == {"applicant.*": ["/a", "/p"], "operators": ["/ops"]}
    monkeypatch.delenv("INTERN_MATCH_SOURCES")
    assert Settings().sources is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("{not json", "is not JSON"),
        ('["/a"]', "must be a JSON object"),
        ('{"applicnt.*": ["/a"]}', "key 'applicnt.*': matches no inbound kind"),
        ('{"placement.made": ["/a"]}', "key 'placement.made': matches no inbound kind"),
        ('{"applicant.*": "/a"}', "key 'applicant.*': must be a list"),
        ('{"operators": [""]}', "key 'operators': each source is a string"),
        ('{"operators": [7]}', "key 'operators': each source is a string"),
        ('{"round.requested": ["/a b"]}', "key 'round.requested': a source holds whitespace"),
    ],
)
def test_a_malformed_setting_names_the_key_and_the_reason(monkeypatch, value, reason):
    monkeypatch.setenv("INTERN_MATCH_SOURCES", value)
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert f"INTERN_MATCH_SOURCES {reason}" in str(raised.value)


def test_serve_does_not_start_with_malformed_rules(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from services.cli.main import app

    monkeypatch.setenv("INTERN_MATCH_SOURCES", '{"applicnt.*": []}')
    monkeypatch.setenv("INTERN_MATCH_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code != 0
    assert "INTERN_MATCH_SOURCES key 'applicnt.*': matches no inbound kind" in result.output
    assert not (tmp_path / "nats").exists()  # no broker was started


def test_production_without_rules_warns_at_start(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="services.intake.sources"):
        log_rules_at_start(None, production=False)
        assert not caplog.records
        log_rules_at_start(None, production=True)
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "INTERN_MATCH_SOURCES" in record.getMessage()


def test_rules_in_force_are_logged_with_the_kinds_only_operators_send(caplog):
    with caplog.at_level(logging.INFO, logger="services.intake.sources"):
        log_rules_at_start(SourceRules.of({"applicant.*": ["/a"]}), production=True)
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.operator_only_kinds == [
        "vacancy.posted",
        "vacancy.closed",
        "round.requested",
        "placement.responded",
    ]


def reference(config: dict[str, list[str]], kind: str, source: str, creator: str | None) -> bool:
    """The rule as the README states it, written independently of services.intake.sources."""
    if source in config.get(OPERATORS, []):
        return True
    own = source == "/intern-match" or source.startswith("/intern-match/")
    named = [
        srcs
        for key, srcs in config.items()
        if key == kind or (key.endswith(".*") and kind.split(".")[0] == key.split(".")[0])
    ]
    if not own and not any(source in srcs for srcs in named):
        return False
    return kind not in AGGREGATE_KINDS or creator is None or creator == source


PATTERNS = [*KINDS, "applicant.*", "vacancy.*", "round.*", OPERATORS]
RULES = st.dictionaries(st.sampled_from(PATTERNS), st.lists(st.sampled_from(SOURCES), max_size=3))


@settings(max_examples=400, deadline=None)
@given(
    RULES,
    st.sampled_from(KINDS),
    st.sampled_from(SOURCES),
    st.none() | st.sampled_from(SOURCES),
)
def test_the_rule_agrees_with_a_reference_for_any_rules_kind_source_and_creator(
    config, kind, source, creator
):
    rules = SourceRules.of(config)
    assert rules is not None
    refusal = rules.kind_refusal(kind, source)
    if refusal is None and kind in AGGREGATE_KINDS:
        refusal = rules.creator_refusal(kind.split(".")[0], source, creator)
    assert (refusal is None) == reference(config, kind, source, creator)
    if refusal is not None:
        assert source[:50] in refusal and len(refusal) <= 200


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(JSON | RULES | st.text(max_size=60))
def test_any_value_is_canonical_rules_or_a_value_error_and_canonical_is_a_fixed_point(value):
    try:
        config = to_config(json.dumps(value) if not isinstance(value, str) else value)
    except ValueError as error:
        assert len(str(error)) <= 300
        return
    assert config is not None and to_config(config) == config
    assert to_config(json.dumps(config)) == config
