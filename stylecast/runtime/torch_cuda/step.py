"""One frame size's device state for the torch-cuda runtime, and how a frame flows through it.

A size's ``Step`` holds the static tensors its CUDA graph was captured on and two ``Slot``s.
A slot is everything one frame in flight needs for itself: page-locked host buffers, device
staging tensors for its inputs and output, and the three events that order its copies. With
two slots, frame N+1's upload runs while frame N computes, and frame N's download while
frame N+1 computes (``Runtime.submit``); ``infer`` is one submit and its result.

Per frame, on three streams (``enqueue``):

* upload: waits until the slot's last compute has read its staging inputs, copies the host
  buffers in, records ``uploaded``;
* compute: waits for ``uploaded`` and for the slot's last download (its staging output is
  then free), copies the staging inputs into the graph's static inputs (a device copy of a
  few MB, microseconds), replays the graph, copies the static output to the slot's staging
  output, records ``computed``; eagerly, the network reads and writes the staging tensors;
* download: waits for ``computed``, copies to the host buffer, records ``downloaded``.

The compute stream is one queue, so a replay never starts before the last one's output was
copied away. The host waits only for a slot's ``downloaded`` (the result) and, before
refilling a slot's host buffers, for its ``uploaded`` (long past by then).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

#: Frames a size can have in flight at once.
SLOTS = 2

#: The step: (frame, controls) -> output, eager or compiled (see ``DeviceFrameGraph``).
StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Slot:
    """One frame in flight: host buffers, device staging tensors and ordering events.

    Attributes:
        host_frame, host_controls, host_out: page-locked, (H, W, 3) uint8, (S + 2,) float32
            and (H, W, 3) uint8.
        frame, controls, out: device staging, (1, H, W, 3) uint8, (1, S + 2) float32 and
            (1, H, W, 3) uint8.
        busy: submitted and its result not yet taken.
    """

    host_frame: torch.Tensor
    host_controls: torch.Tensor
    host_out: torch.Tensor
    frame: torch.Tensor
    controls: torch.Tensor
    out: torch.Tensor
    busy: bool = False
    # Made at creation, not import, so tests can stand in for torch.cuda. The host waits on
    # uploaded and downloaded: blocking, so the wait sleeps instead of spinning a core the
    # pipeline's other threads (upsampling, encoding) need.
    uploaded: torch.cuda.Event = field(default_factory=lambda: torch.cuda.Event(blocking=True))
    computed: torch.cuda.Event = field(default_factory=lambda: torch.cuda.Event())
    downloaded: torch.cuda.Event = field(
        default_factory=lambda: torch.cuda.Event(blocking=True))

    def __post_init__(self) -> None:
        # numpy views of the host buffers, made once: the per-frame copies go through them.
        self.host_frame_np = self.host_frame.numpy()
        self.host_controls_np = self.host_controls.numpy()
        self.host_out_np = self.host_out.numpy()


@dataclass
class Step:
    """One frame size: the graph's static tensors, the graph, and the slots in turn.

    Attributes:
        frame: (1, H, W, 3) uint8, static input on the device.
        controls: (1, S + 2) float32, static input on the device.
        out: (1, H, W, 3) uint8, static output on the device (the graph's, when captured).
    """

    frame: torch.Tensor
    controls: torch.Tensor
    out: torch.Tensor
    slots: list[Slot]
    graph: torch.cuda.CUDAGraph | None = None
    turn: int = 0

    def next_slot(self) -> Slot:
        """The slot for the next frame, in turn.

        Raises:
            RuntimeError: that slot's frame is still in flight (more than ``SLOTS`` frames
                submitted without taking the oldest result).
        """
        slot = self.slots[self.turn]
        if slot.busy:
            raise RuntimeError(f"torch-cuda: at most {len(self.slots)} frames of one size in "
                               "flight; take the oldest result first")
        self.turn = (self.turn + 1) % len(self.slots)
        return slot

    def events(self) -> list[torch.cuda.Event]:
        """Every slot's last event: what to wait for before this step's memory may go."""
        return [slot.downloaded for slot in self.slots]


class Streams(NamedTuple):
    upload: torch.cuda.Stream
    compute: torch.cuda.Stream
    download: torch.cuda.Stream


def fill(slot: Slot, frame: np.ndarray, style: np.ndarray, strength: float,
         preserve: float) -> None:
    """Write one frame and its controls into the slot's host buffers."""
    # The page-locked input is free once its last upload finished (long ago: the slot's
    # result was taken, which waited for a later event).
    slot.uploaded.synchronize()
    np.copyto(slot.host_frame_np, frame)
    controls = slot.host_controls_np
    controls[:-2] = style
    controls[-2], controls[-1] = strength, preserve


def enqueue(step: Step, slot: Slot, streams: Streams, module: StepFn,
            cudnn: Callable[[], AbstractContextManager[None]]) -> None:
    """Queue the slot's upload, compute and download (order in the module docstring)."""
    upload, compute, download = streams
    with torch.no_grad():
        upload.wait_event(slot.computed)  # its last compute has read the staging inputs
        with torch.cuda.stream(upload):
            slot.frame[0].copy_(slot.host_frame, non_blocking=True)
            slot.controls[0].copy_(slot.host_controls, non_blocking=True)
        slot.uploaded.record(upload)
        compute.wait_event(slot.uploaded)
        compute.wait_event(slot.downloaded)  # its last output has been read
        with torch.cuda.stream(compute):
            if step.graph is not None:
                step.frame.copy_(slot.frame)
                step.controls.copy_(slot.controls)
                step.graph.replay()
                slot.out.copy_(step.out)
            else:
                with cudnn():
                    slot.out.copy_(module(slot.frame, slot.controls))
        slot.computed.record(compute)
        download.wait_event(slot.computed)
        with torch.cuda.stream(download):
            slot.host_out.copy_(slot.out[0], non_blocking=True)
        slot.downloaded.record(download)
    slot.busy = True


class CudaPending:
    """A submitted frame; ``result()`` waits for its download alone."""

    def __init__(self, slot: Slot) -> None:
        self._slot: Slot | None = slot
        self._result: np.ndarray | None = None

    def result(self) -> np.ndarray:
        """(H, W, 3) uint8, a copy the caller owns; the same array on a second call."""
        slot = self._slot
        if slot is not None:
            slot.downloaded.synchronize()
            self._result = slot.host_out_np.copy()
            slot.busy = False
            self._slot = None
        assert self._result is not None
        return self._result
