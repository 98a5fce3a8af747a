"""A setting given twice in two letter cases with different values is refused at load, naming
both variables: pydantic-settings reads names case-insensitively, so one would silently win."""

import pytest
from pydantic import ValidationError

from services.settings import Environment, Settings


def test_production_shadowed_by_a_lower_case_development_is_refused_naming_both(monkeypatch):
    monkeypatch.setenv("INTERN_MATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("intern_match_environment", "development")

    with pytest.raises(ValidationError) as raised:
        Settings()

    text = str(raised.value)
    assert "INTERN_MATCH_ENVIRONMENT" in text and "intern_match_environment" in text


def test_a_secret_set_twice_is_refused_without_showing_either_value(monkeypatch):
    monkeypatch.setenv("INTERN_MATCH_BROKER_PASSWORD", "first-s3cret")
    monkeypatch.setenv("Intern_Match_Broker_Password", "second-s3cret")

    with pytest.raises(ValidationError) as raised:
        Settings()

    message = raised.value.errors(include_input=False)[0]["msg"]
    assert "Intern_Match_Broker_Password" in message and "s3cret" not in message


def test_the_same_value_in_two_letter_cases_is_not_ambiguous(monkeypatch):
    monkeypatch.setenv("INTERN_MATCH_ENVIRONMENT", "production")
    monkeypatch.setenv("intern_match_environment", "production")

    assert Settings().environment is Environment.PRODUCTION
