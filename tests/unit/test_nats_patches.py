"""services.nats.patches refuses to load when nats-py or FastStream lack an internal it patches:
an upgrade that moves one fails at start with the versions named, instead of losing the patch."""

import asyncio
import importlib
from collections.abc import Iterator
from importlib.metadata import version

import pytest
from faststream.nats.subscriber.usecases import BatchPullStreamSubscriber
from nats.aio.subscription import Subscription
from nats.errors import TimeoutError as NatsTimeout

import services.nats.patches as patches


@pytest.fixture
def reloaded_after(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The module as it was, once the test's monkeypatching is undone."""
    yield
    monkeypatch.undo()
    importlib.reload(patches)


def test_the_installed_versions_have_everything_the_patches_use() -> None:
    assert patches._missing() == []


def test_a_missing_faststream_method_fails_the_import_naming_it_and_the_versions(
    reloaded_after: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BatchPullStreamSubscriber, "_create_subscription", None)

    with pytest.raises(ImportError) as raised:
        importlib.reload(patches)

    message = str(raised.value)
    assert "BatchPullStreamSubscriber._create_subscription" in message
    assert f"nats-py {version('nats-py')}" in message
    assert f"faststream {version('faststream')}" in message
    assert "tested with nats-py 2.16, faststream 0.7.8" in message


def test_a_missing_nats_py_attribute_fails_the_import_naming_it(
    reloaded_after: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Subscription.__init__

    def init_without_pending_queue(self: Subscription, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Subscription, "__init__", init_without_pending_queue)

    with pytest.raises(ImportError, match=r"lack Subscription\._pending_queue, "):
        importlib.reload(patches)


class _CountingPull:
    """A pull subscription that counts its fetches (nats-py's shape, as far as the patch uses)."""

    def __init__(self) -> None:
        self.fetches = 0
        self._sub = _QueueSub()

    async def fetch(self, *args: object, **kwargs: object) -> list[object]:
        self.fetches += 1
        return ["message"]


class _QueueSub:
    def __init__(self) -> None:
        self._pending_queue: asyncio.Queue[object] = asyncio.Queue()

    async def next_msg(self, timeout: float | None = 1.0) -> object:
        raise AssertionError("not called here")


async def test_an_instance_that_may_not_fetch_asks_the_server_for_nothing_and_times_out() -> None:
    inner = _CountingPull()
    allowed = False
    safe = patches.PartialBatchSafe(inner, lambda: allowed)  # type: ignore[arg-type]
    with pytest.raises(NatsTimeout):
        await safe.fetch(10, timeout=0.01)
    assert inner.fetches == 0
    allowed = True
    assert await safe.fetch(10, timeout=0.01) == ["message"]
    assert inner.fetches == 1
