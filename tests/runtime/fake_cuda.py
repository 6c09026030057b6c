"""torch.cuda stood in for on the CPU, so TorchCudaRuntime's orchestration runs without a GPU.

Streams and events run everything at once, in program order. A fake CUDA graph records the
step's calls during "capture" and, on replay, runs them again on the *same* static input
tensors and writes into the *same* output tensor, as a real graph does: a frame whose data
never reached the static inputs comes out stale, as it would on a GPU. Device-wide and
stream-wide synchronizations are counted, so tests can check the hot path makes none.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import torch

from stylecast.runtime.torch_cuda import runtime as torch_cuda
from stylecast.runtime.torch_cuda.device_graph import DeviceFrameGraph

DEVICE_NAME = "Fake GPU"


@dataclass
class Calls:
    """What the code under test asked of the fake torch.cuda."""

    device_syncs: int = 0
    stream_syncs: int = 0
    event_syncs: int = 0
    captures: int = 0
    replays: int = 0
    streams: list[FakeStream] = field(default_factory=list)


CALLS = Calls()


class FakeEvent:
    def __init__(self, enable_timing: bool = False, **_: object) -> None:
        self.recorded = 0
        self.time = 0.0

    def record(self, stream: FakeStream | None = None) -> None:
        self.recorded += 1
        self.time = time.perf_counter()

    def synchronize(self) -> None:
        CALLS.event_syncs += 1

    def elapsed_time(self, end: FakeEvent) -> float:
        return (end.time - self.time) * 1000.0


class FakeStream:
    def __init__(self, device: object = None, **_: object) -> None:
        self.waited: list[FakeEvent] = []
        CALLS.streams.append(self)

    def wait_event(self, event: FakeEvent) -> None:
        self.waited.append(event)

    def wait_stream(self, stream: FakeStream) -> None:
        pass

    def synchronize(self) -> None:
        CALLS.stream_syncs += 1


class FakeGraph:
    """Replays the recorded calls on the tensors they were captured with."""

    capturing: FakeGraph | None = None

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[[], torch.Tensor], torch.Tensor]] = []

    def replay(self) -> None:
        CALLS.replays += 1
        for run, out in self.calls:
            out.copy_(run())


@contextlib.contextmanager
def fake_graph(graph: FakeGraph, **_: object) -> Iterator[None]:
    FakeGraph.capturing = graph
    try:
        yield
    finally:
        FakeGraph.capturing = None
    CALLS.captures += 1


class RecordingFrameGraph(DeviceFrameGraph):
    """``DeviceFrameGraph`` that registers itself with a fake graph being captured."""

    def forward(self, frame: torch.Tensor, controls: torch.Tensor) -> torch.Tensor:
        out = super().forward(frame, controls)
        graph = FakeGraph.capturing
        if graph is not None:
            graph.calls.append((lambda: DeviceFrameGraph.forward(self, frame, controls), out))
        return out


class CpuTorchCudaRuntime(torch_cuda.TorchCudaRuntime):
    """The CUDA runtime on CPU tensors (use inside ``install``)."""

    _device_type = "cpu"


def install(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Stand in for torch.cuda; returns the fresh call counters."""
    global CALLS
    CALLS = Calls()

    def device_sync(*_: object) -> None:
        CALLS.device_syncs += 1

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: DEVICE_NAME)
    monkeypatch.setattr(torch.cuda, "Stream", FakeStream)
    monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
    monkeypatch.setattr(torch.cuda, "CUDAGraph", FakeGraph)
    monkeypatch.setattr(torch.cuda, "graph", fake_graph)
    monkeypatch.setattr(torch.cuda, "stream", lambda *_: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda *_: FakeStream())
    monkeypatch.setattr(torch.cuda, "synchronize", device_sync)
    monkeypatch.setattr(torch_cuda, "DeviceFrameGraph", RecordingFrameGraph)
    return CALLS
