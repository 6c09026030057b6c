"""Rate limiting and the bounded per-client outbox."""

from __future__ import annotations

import asyncio

import pytest

from stylecast.control.flow import Outbox, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=40, burst=100, clock=clock)
    assert sum(bucket.allow() for _ in range(150)) == 100
    clock.now += 0.125  # 5 tokens
    assert sum(bucket.allow() for _ in range(10)) == 5
    clock.now += 60  # refills to the burst, not beyond
    assert sum(bucket.allow() for _ in range(500)) == 100


def test_outbox_keeps_only_the_newest_stats() -> None:
    box = Outbox(capacity=8)
    box.put("s1", stats=True)
    box.put("e1")
    box.put("s2", stats=True)
    assert list(_drain(box)) == ["e1", "s2"]
    assert box.dropped == 1


def test_outbox_drops_oldest_stats_first_then_oldest_event() -> None:
    box = Outbox(capacity=3)
    box.put("s1", stats=True)
    for name in ("e1", "e2", "e3"):
        box.put(name)
    assert list(_drain(box)) == ["e1", "e2", "e3"]  # the stats message went first
    for name in ("e1", "e2", "e3", "e4", "e5"):
        box.put(name)
    assert list(_drain(box)) == ["e3", "e4", "e5"]
    assert len(box) == 0 and box.dropped == 3


def test_outbox_get_waits_for_a_message() -> None:
    async def scenario() -> str:
        box = Outbox()
        getter = asyncio.create_task(box.get())
        await asyncio.sleep(0.01)
        assert not getter.done()
        box.put("hi")
        return await asyncio.wait_for(getter, 1)

    assert asyncio.run(scenario()) == "hi"


def test_outbox_needs_room() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Outbox(capacity=0)


def _drain(box: Outbox) -> list[str]:
    async def run() -> list[str]:
        return [await box.get() for _ in range(len(box))]
    return asyncio.run(run())
