"""The only module touching nats-py's or FastStream's private internals.

Each patch, why it exists, and when it can go:

- `PartialBatchSafe` (FastStream's `_create_subscription` via `keep_partial_batches`, the pull
  subscription's `subscription` attribute): FastStream 0.7 drops a partly filled batch when
  nats-py raises asyncio's plain TimeoutError instead of its own, so those messages came back
  out of stream order after ack_wait. It can go once FastStream keeps a partial batch on either
  TimeoutError (or nats-py raises only its own).
- `take_queued_first` (nats-py's Subscription `_pending_queue`, `_pending_size`, `_conn`, and
  the pull subscription's `_sub`): nats-py 2.x starts a task and a timer for every message of a
  batch fetch, even one already queued: over a third of the intake's event-loop time. It can go
  once nats-py's `next_msg` takes a queued message without a task.
- `server_info` (nats-py's Client `_server_info`): nats-py has no accessor for the INFO the
  connected server sent (its cluster name and server id tell one broker from another in an
  export). It can go once nats-py offers one.

At import the module checks that each thing it relies on exists in the installed versions and
raises ImportError naming the versions found and the tested ones otherwise, so an upgrade that
moves an internal fails at start, not by silently losing the patch. pyproject.toml pins nats-py
to the tested minor range; FastStream is pinned to 0.7.

Imports nats-py and FastStream; never the intake, tables or matching.
"""

import asyncio
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from faststream.nats.subscriber.usecases import BatchPullStreamSubscriber
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import TimeoutError as NatsTimeout
from nats.js.client import JetStreamContext

TESTED = {"nats-py": "2.16", "faststream": "0.7.8"}
"""The versions these patches were written and tested against."""


def _assigned_in_init(cls: type, name: str) -> bool:
    """Whether `cls.__init__` assigns the instance attribute `name` (an attribute store names it
    in the code object's names; instance attributes do not exist on the class itself)."""
    init = getattr(cls, "__init__", None)
    code = getattr(init, "__code__", None)
    return code is not None and name in code.co_names


def _missing() -> list[str]:
    """What the patches rely on and the installed nats-py or FastStream lacks."""
    needs = [
        (f"{Subscription.__qualname__}.{name}", _assigned_in_init(Subscription, name))
        for name in ("_pending_queue", "_pending_size", "_conn")
    ]
    needs.append(("Subscription.next_msg", callable(getattr(Subscription, "next_msg", None))))
    needs.append(
        ("PullSubscription._sub", _assigned_in_init(JetStreamContext.PullSubscription, "_sub"))
    )
    needs.append(("Client._server_info", _assigned_in_init(Client, "_server_info")))
    needs.append(
        (
            "BatchPullStreamSubscriber._create_subscription",
            callable(getattr(BatchPullStreamSubscriber, "_create_subscription", None)),
        )
    )
    return [name for name, present in needs if not present]


def _installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def check_internals() -> None:
    """Raise ImportError naming what is missing, the versions found and the tested ones."""
    missing = _missing()
    if missing:
        found = ", ".join(f"{name} {_installed(name)}" for name in TESTED)
        tested = ", ".join(f"{name} {tested}" for name, tested in TESTED.items())
        raise ImportError(
            f"services.nats.patches: the installed {found} lack {', '.join(missing)}; "
            f"these patches are tested with {tested} (see this module's docstring)"
        )


check_internals()


def server_info(client: Client) -> dict[str, Any]:
    """The INFO the connected server sent (nats-py keeps it privately, with no accessor)."""
    info: dict[str, Any] = client._server_info
    return info


class PartialBatchSafe:
    """The intake's pull subscription, with a fetch timeout always nats-py's own `TimeoutError`.

    FastStream (0.7.8) fills a batch over several fetches and stops at nats-py's TimeoutError,
    keeping the messages it has. But nats-py (2.x) raises asyncio's plain TimeoutError when a
    fetch's deadline passes just after its no-wait probe; FastStream's fetch task then fails,
    dropping the messages fetched so far. They stay unacknowledged until ack_wait (30 s) and
    come back after later batches have committed: out of stream order, so a round could run
    without events published before it. Seen in CI and reproduced by trickled publishing.

    It also takes queued messages at once (`take_queued_first`), and asks the server for
    nothing while `may_fetch()` is False (an instance whose lease ran out while it was paused
    must not take messages the active instance waits for): the fetch then times out empty.
    """

    def __init__(
        self, inner: JetStreamContext.PullSubscription, may_fetch: Callable[[], bool]
    ) -> None:
        self.inner = inner
        self.may_fetch = may_fetch
        take_queued_first(inner._sub)

    async def fetch(self, *args: Any, **kwargs: Any) -> list[Msg]:
        if not self.may_fetch():
            await asyncio.sleep(float(kwargs.get("timeout") or 0.2))
            raise NatsTimeout
        try:
            return await self.inner.fetch(*args, **kwargs)
        except NatsTimeout:
            raise
        except TimeoutError as error:  # asyncio.TimeoutError is TimeoutError since 3.11
            raise NatsTimeout from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def take_queued_first(subscription: Subscription) -> None:
    """A message already queued is taken at once by `next_msg`, which nats-py's batch fetch calls
    once per message.

    nats-py (2.x) starts a task, names it with a fresh uuid4 and waits on it with
    `asyncio.wait_for` for every message, even one that is waiting in the queue: over a third
    of the intake's event-loop time. A queued message is now returned as nats-py returns it (its
    pending size and `task_done` accounted); an empty queue, or a closed connection, takes
    nats-py's own path. One difference: a queued message is returned even when the fetch's
    deadline has just passed, where nats-py would give it up to the next fetch.
    """
    queue = subscription._pending_queue
    waiting = subscription.next_msg

    async def next_msg(timeout: float | None = 1.0) -> Msg:
        if queue.empty() or subscription._conn.is_closed:
            return await waiting(timeout)
        msg = queue.get_nowait()
        subscription._pending_size -= len(msg.data)
        queue.task_done()
        return msg

    # setattr: replacing a method of this one instance is the patch (mypy rightly refuses an
    # assignment to a method).
    setattr(subscription, "next_msg", next_msg)  # noqa: B010


def keep_partial_batches(subscriber: Any, may_fetch: Callable[[], bool] = lambda: True) -> None:
    """Wrap the subscription as FastStream creates it (at every start), before its fetch task
    first runs: the task is only scheduled by then, and nothing is awaited in between."""
    create = subscriber._create_subscription

    async def create_safe() -> None:
        await create()
        if subscriber.subscription is not None and not isinstance(
            subscriber.subscription, PartialBatchSafe
        ):
            subscriber.subscription = PartialBatchSafe(subscriber.subscription, may_fetch)

    subscriber._create_subscription = create_safe
