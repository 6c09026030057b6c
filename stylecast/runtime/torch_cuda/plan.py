"""The CUDA runtime's bookkeeping, kept apart from CUDA so it is tested on any machine.

* :class:`ShapePlanner` decides, per frame size, whether the fixed-shape step must be
  prepared (warmed up and, with CUDA graphs, captured) or can be replayed, and which size to
  evict when too many are held. A style, strength or colour-preservation change is not a
  new shape: those are values copied into the step's static inputs, so they never cause a
  recapture.
* :class:`HostBufferPool` hands out host buffers, page-locked on a GPU machine, reused per
  (name, shape, dtype), so a live stream allocates and pins its transfer buffers once.
* :data:`CUDA_PRECISIONS` names what the CUDA runtime can run, preferred first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import torch

#: Precisions the torch CUDA runtime runs, preferred ("auto") first. f16 halves memory
#: traffic and uses tensor cores on every GPU that torch's CUDA builds support.
CUDA_PRECISIONS = ("f16", "f32")

#: torch dtypes of the precision names.
TORCH_DTYPES = {"f16": torch.float16, "f32": torch.float32}

#: Frame sizes whose prepared step (CUDA graph and static buffers) is kept at once: the live
#: size, plus the thumbnails the control page renders, without recapturing back and forth.
MAX_SHAPES = 3

Shape = tuple[int, int]


@dataclass(frozen=True)
class Admission:
    """What the runtime must do before running a frame of one size.

    Attributes:
        prepare: the size is new (or was evicted): warm up and, with CUDA graphs, capture.
        evict: sizes to release first, least recently used first.
    """

    prepare: bool
    evict: tuple[Shape, ...]


class ShapePlanner:
    """Least-recently-used set of prepared frame sizes.

    Args:
        max_shapes: sizes held at once (at least 1).

    Raises:
        ValueError: ``max_shapes`` is below 1.
    """

    def __init__(self, max_shapes: int = MAX_SHAPES) -> None:
        if max_shapes < 1:
            raise ValueError(f"max_shapes must be at least 1; got {max_shapes}")
        self.max_shapes = max_shapes
        self._held: OrderedDict[Shape, None] = OrderedDict()
        #: How many times a size was admitted as new: the number of captures with graphs.
        self.prepared = 0

    def admit(self, shape: Shape) -> Admission:
        """Mark ``shape`` as used now; say whether it needs preparing and what to evict."""
        if shape in self._held:
            self._held.move_to_end(shape)
            return Admission(prepare=False, evict=())
        evict: list[Shape] = []
        while len(self._held) >= self.max_shapes:
            evict.append(self._held.popitem(last=False)[0])
        self._held[shape] = None
        self.prepared += 1
        return Admission(prepare=True, evict=tuple(evict))

    def discard(self, shape: Shape) -> None:
        """Forget ``shape`` (its preparation failed), so the next frame prepares it again."""
        self._held.pop(shape, None)

    def clear(self) -> None:
        """Forget every size (the runtime closed)."""
        self._held.clear()

    @property
    def held(self) -> tuple[Shape, ...]:
        """Sizes held, least recently used first."""
        return tuple(self._held)


class HostBufferPool:
    """Host tensors reused per (group, name, shape, dtype), page-locked when ``pin_memory``.

    Page-locked memory lets the GPU copy engines read and write it directly, so a copy from
    or to it is asynchronous with respect to the host and overlaps kernels on other streams;
    pinning is slow, hence the reuse. The CUDA runtime groups buffers by frame size and
    releases a group when that size leaves the plan. ``pin_memory=False`` gives plain
    tensors (CPU tests).

    Args:
        pin_memory: page-lock the buffers (needs a CUDA device).
        max_buffers: buffers kept at once; the least recently used beyond it are dropped.

    Raises:
        ValueError: ``max_buffers`` is below 1.
    """

    def __init__(self, *, pin_memory: bool, max_buffers: int = 16) -> None:
        if max_buffers < 1:
            raise ValueError(f"max_buffers must be at least 1; got {max_buffers}")
        self.pin_memory = pin_memory
        self.max_buffers = max_buffers
        self._buffers: OrderedDict[tuple[Hashable, str, tuple[int, ...], torch.dtype],
                                   torch.Tensor] = OrderedDict()
        #: Buffers allocated so far (a reused buffer does not count).
        self.allocations = 0

    def get(
        self, group: Hashable, name: str, shape: tuple[int, ...], dtype: torch.dtype
    ) -> torch.Tensor:
        """The buffer for (``group``, ``name``, ``shape``, ``dtype``), allocated on first use.

        Its contents are whatever its last user left there; callers overwrite it whole.
        """
        key = (group, name, tuple(shape), dtype)
        buffer = self._buffers.get(key)
        if buffer is not None:
            self._buffers.move_to_end(key)
            return buffer
        while len(self._buffers) >= self.max_buffers:
            self._buffers.popitem(last=False)
        buffer = torch.empty(key[2], dtype=dtype, pin_memory=self.pin_memory)
        self._buffers[key] = buffer
        self.allocations += 1
        return buffer

    def release(self, group: Hashable) -> None:
        """Drop every buffer of ``group``; the caller makes sure no copy still uses them."""
        for key in [k for k in self._buffers if k[0] == group]:
            del self._buffers[key]

    def clear(self) -> None:
        """Drop every buffer."""
        self._buffers.clear()

    def __len__(self) -> int:
        return len(self._buffers)
