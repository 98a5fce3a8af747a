"""The garbage collector is tuned in one place, the same way in the service process and in its
parsing worker (services.collector), and a round's pause of the collector lives beside it."""

import gc
from collections.abc import Iterator

import pytest

import services.runtime
from services import collector
from services.intake import parse_worker
from services.rounds import runner


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


def test_the_service_and_the_parsing_worker_tune_the_collector_with_one_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert services.runtime.tune_gc is collector.tune_gc
    assert runner.collector_paused is collector.collector_paused
    tuned: list[str] = []
    monkeypatch.setattr(parse_worker, "tune_gc", lambda: tuned.append("tuned"))
    monkeypatch.setattr(parse_worker, "serve_parsing", lambda *_: tuned.append("served"))
    monkeypatch.setattr(parse_worker.signal, "signal", lambda *_: None)
    parse_worker.main()
    assert tuned == ["tuned", "served"]


def test_tuning_freezes_the_heap_and_raises_the_young_threshold(collector_restored: None) -> None:
    collector.tune_gc()
    assert gc.get_threshold() == (10_000, 10, 10)
    assert gc.get_freeze_count() > 0


def test_nested_pauses_turn_the_collector_on_after_the_last(collector_restored: None) -> None:
    gc.enable()
    with collector.collector_paused():
        with collector.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
