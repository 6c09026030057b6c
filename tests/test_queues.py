from __future__ import annotations

import threading
import time

import pytest

from stylecast.pipeline.queue import BoundedQueue, Closed


def test_drop_oldest_keeps_the_newest_and_counts() -> None:
    q: BoundedQueue[int] = BoundedQueue(2, "drop_oldest")
    for i in range(5):
        q.put(i)
    assert q.dropped == 3
    assert [q.get(0), q.get(0)] == [3, 4]


def test_block_waits_for_room_and_never_drops() -> None:
    q: BoundedQueue[int] = BoundedQueue(1, "block")
    q.put(0)
    assert q.put(1, timeout=0.05) is False
    got: list[int] = []
    consumer = threading.Thread(target=lambda: got.extend([q.get(1), q.get(1)]))
    consumer.start()
    assert q.put(1, timeout=1.0) is True
    consumer.join(2)
    assert got == [0, 1] and q.dropped == 0


def test_close_wakes_waiters_and_refuses_puts() -> None:
    q: BoundedQueue[int] = BoundedQueue(1, "block")
    results: list[object] = []
    waiter = threading.Thread(target=lambda: results.append(q.get()))
    waiter.start()
    time.sleep(0.05)
    q.close()
    waiter.join(1)
    assert results == [None] and not waiter.is_alive()
    with pytest.raises(Closed):
        q.put(1)


def test_a_set_stop_event_ends_a_blocked_put_without_adding() -> None:
    q: BoundedQueue[int] = BoundedQueue(1, "block")
    q.put(0)
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()  # set without wake(): the put polls for it
    started = time.monotonic()
    assert q.put(1, stop=stop) is False
    assert time.monotonic() - started < 1.0
    assert len(q) == 1 and q.put(2, stop=stop) is False


def test_final_items_are_never_dropped_and_come_last() -> None:
    q: BoundedQueue[str] = BoundedQueue(1, "drop_oldest")
    q.put_final("end")
    q.put("a")
    q.put("b")
    assert q.clear() == 1
    q.put("c")
    assert [q.get(0), q.get(0), q.get(0)] == ["c", "end", None]
