"""Free heap memory goes back to the system while a pipeline runs (issue #23)."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time

import pytest

from stylecast.capture import open_source
from stylecast.pipeline import memory
from stylecast.pipeline.memory import MemoryReleaser, heap_usage, release_free_memory
from stylecast.pipeline.threads import Pipeline, State
from tests.test_pipeline import CollectSink, make_stylizer

glibc_only = pytest.mark.skipif(memory._malloc_trim() is None,
                                reason="the C library has no malloc_trim (not glibc)")


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@glibc_only
def test_free_holes_in_the_heap_go_back_to_the_system() -> None:
    # What a show does to glibc's heap, in small: many blocks freed under one that lives
    # on, so glibc can neither trim the top of the heap nor hand the hole back by itself.
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block = 64 * 1024  # under glibc's mmap threshold: served from the heap
    blocks = [libc.malloc(block) for _ in range(1600)]
    assert all(blocks)
    for address in blocks:
        ctypes.memset(address, 1, block)  # make every page resident
    for address in blocks[:-1]:
        libc.free(address)
    held = _rss_mb()
    try:
        assert release_free_memory() is True
        released = held - _rss_mb()
    finally:
        libc.free(blocks[-1])
    # ~100 MB were freed into a hole; most of it must leave the process.
    assert released > 60, f"RSS only fell by {released:.1f} MB"


@pytest.mark.skipif(heap_usage() is None, reason="the C library has no mallinfo2")
def test_heap_usage_counts_what_the_program_holds_and_what_glibc_keeps() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = heap_usage()
    blocks = [libc.malloc(64 * 1024) for _ in range(800)]  # ~52 MB from the heap
    held = heap_usage()
    for address in blocks[:-1]:
        libc.free(address)
    freed = heap_usage()
    libc.free(blocks[-1])
    assert before is not None and held is not None and freed is not None
    assert held.in_use_mb - before.in_use_mb > 45
    assert held.in_use_mb - freed.in_use_mb > 45
    assert freed.free_mb - held.free_mb > 45  # kept by glibc: under a block still held


def test_without_malloc_trim_nothing_is_released_and_no_thread_starts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert release_free_memory() is False
    releaser = MemoryReleaser(every_s=0.01)
    releaser.start()
    time.sleep(0.1)
    releaser.stop()
    assert releaser.releases == 0
    assert not any(t.name == "memory-release" for t in threading.enumerate())


@glibc_only
def test_the_releaser_runs_periodically_and_stops_at_once() -> None:
    releaser = MemoryReleaser(every_s=0.02)
    releaser.start()
    deadline = time.monotonic() + 10
    while releaser.releases < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert releaser.releases >= 3
    # stop() must not wait out the period: a 1-hour period still stops at once.
    slow = MemoryReleaser(every_s=3600)
    slow.start()
    started = time.monotonic()
    slow.stop()
    releaser.stop()
    assert time.monotonic() - started < 2.0
    assert not any(t.name == "memory-release" for t in threading.enumerate())


@glibc_only
def test_a_running_pipeline_releases_memory_and_takes_the_thread_with_it_when_it_stops(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    real = memory.release_free_memory

    def counted() -> bool:
        calls.append(time.monotonic())
        return real()

    monkeypatch.setattr(memory, "release_free_memory", counted)
    monkeypatch.setattr(memory, "RELEASE_EVERY_S", 0.05)
    source = open_source("test", size=(64, 48), fps=30, live=True)
    pipeline = Pipeline(source, make_stylizer(), [CollectSink()])
    pipeline.start()
    assert any(t.name == "memory-release" for t in threading.enumerate())
    deadline = time.monotonic() + 10
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    pipeline.stop()
    assert len(calls) >= 2
    assert pipeline.state is State.STOPPED
    assert not any(t.name == "memory-release" for t in threading.enumerate())
