"""The service's Prometheus metrics, without a broker or a database."""

from types import SimpleNamespace

import pytest

from services.intake.apply import BatchOutcome
from services.observability.metrics import ServiceMetrics


def _value(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_two_services_in_one_process_keep_separate_counts():
    first, second = ServiceMetrics(), ServiceMetrics()

    first.count_batch(BatchOutcome(accepted=3))

    assert _value(first, "intern_match_events_total", outcome="accepted") == 3
    assert _value(second, "intern_match_events_total", outcome="accepted") == 0


def test_a_batch_adds_each_outcome_to_its_own_series():
    metrics = ServiceMetrics()

    metrics.count_batch(BatchOutcome(accepted=5, duplicate=2, stale=1, rejected=4))
    metrics.count_batch(BatchOutcome(accepted=1))

    counts = {o: _value(metrics, "intern_match_events_total", outcome=o)
              for o in ("accepted", "duplicate", "stale", "rejected")}  # fmt: skip
    assert counts == {"accepted": 6, "duplicate": 2, "stale": 1, "rejected": 4}


def test_a_timed_solver_observes_its_mode_and_result_status():
    metrics = ServiceMetrics()
    solve = metrics.timed(lambda snapshot: SimpleNamespace(status="optimal"))

    result = solve(SimpleNamespace(mode="stable"))

    assert result.status == "optimal"
    name = "intern_match_round_duration_seconds_count"
    assert _value(metrics, name, mode="stable", status="optimal") == 1


def test_a_solver_that_raises_is_observed_as_raised_and_the_error_propagates():
    metrics = ServiceMetrics()

    def broken(snapshot: object) -> object:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        metrics.timed(broken)(SimpleNamespace(mode="optimal"))

    name = "intern_match_round_duration_seconds_count"
    assert _value(metrics, name, mode="optimal", status="raised") == 1


def test_the_exposition_names_the_gauges_and_faststreams_middleware_shares_the_registry():
    metrics = ServiceMetrics()
    metrics.broker_middleware()
    metrics.outbox_backlog.set(7)

    text = metrics.exposition().decode()

    assert "intern_match_outbox_backlog 7.0" in text
    assert "intern_match_consumer_lag 0.0" in text
    assert "faststream_received_messages_total" in text
