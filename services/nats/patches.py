"""The only module touching nats-py's or FastStream's private internals (see issue 12).

Imports nats-py and FastStream; never the intake, tables or matching.
"""

from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout


class PartialBatchSafe:
    """The intake's pull subscription, with a fetch timeout always nats-py's own `TimeoutError`.

    FastStream (0.7.8) fills a batch over several fetches and stops at nats-py's TimeoutError,
    keeping the messages it has. But nats-py (2.x) raises asyncio's plain TimeoutError when a
    fetch's deadline passes just after its no-wait probe; FastStream's fetch task then fails,
    dropping the messages fetched so far. They stay unacknowledged until ack_wait (30 s) and
    come back after later batches have committed: out of stream order, so a round could run
    without events published before it. Seen in CI and reproduced by trickled publishing.

    It also takes queued messages at once (`take_queued_first`).
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        take_queued_first(inner._sub)

    async def fetch(self, *args: Any, **kwargs: Any) -> list[Msg]:
        try:
            return await self.inner.fetch(*args, **kwargs)
        except NatsTimeout:
            raise
        except TimeoutError as error:  # asyncio.TimeoutError is TimeoutError since 3.11
            raise NatsTimeout from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def take_queued_first(subscription: Any) -> None:
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
        msg: Msg = queue.get_nowait()
        subscription._pending_size -= len(msg.data)
        queue.task_done()
        return msg

    subscription.next_msg = next_msg


def keep_partial_batches(subscriber: Any) -> None:
    """Wrap the subscription as FastStream creates it (at every start), before its fetch task
    first runs: the task is only scheduled by then, and nothing is awaited in between."""
    create = subscriber._create_subscription

    async def create_safe() -> None:
        await create()
        if subscriber.subscription is not None and not isinstance(
            subscriber.subscription, PartialBatchSafe
        ):
            subscriber.subscription = PartialBatchSafe(subscriber.subscription)

    subscriber._create_subscription = create_safe
