from __future__ import annotations

import threading
import time

import pytest

from stylecast.pipeline.queue import Closed, FrameQueue


def test_drop_oldest_keeps_the_newest_and_counts() -> None:
    q: FrameQueue[int] = FrameQueue(2, "drop_oldest")
    for i in range(5):
        q.put(i)
    assert q.dropped == 3
    assert [q.get(0), q.get(0)] == [3, 4]


def test_block_waits_for_room_and_never_drops() -> None:
    q: FrameQueue[int] = FrameQueue(1, "block")
    q.put(0)
    assert q.put(1, timeout=0.05) is False
    got: list[int] = []
    consumer = threading.Thread(target=lambda: got.extend([q.get(1), q.get(1)]))
    consumer.start()
    assert q.put(1, timeout=1.0) is True
    consumer.join(2)
    assert got == [0, 1] and q.dropped == 0


def test_close_wakes_waiters_and_refuses_puts() -> None:
    q: FrameQueue[int] = FrameQueue(1, "block")
    results: list[object] = []
    waiter = threading.Thread(target=lambda: results.append(q.get()))
    waiter.start()
    time.sleep(0.05)
    q.close()
    waiter.join(1)
    assert results == [None] and not waiter.is_alive()
    with pytest.raises(Closed):
        q.put(1)
