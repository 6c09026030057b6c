"""Shared-memory output for the OBS source in ``obs/stylecast_source.lua`` (Linux).

Each stylized frame is published into ``/dev/shm/stylecast-<name>``, a file the OBS script
maps with LuaJIT's FFI and uploads to a texture as it is: RGBA8 rows (``GS_RGBA``), so OBS
converts nothing. This skips the encoder, the socket and the media source's decoder,
which together cost ~120 ms on the media-source route (see docs/obs.md).

Layout (little endian; offsets in bytes; the reference for the Lua side)::

    0   magic "SCST"            4   version (1)            8   header bytes (4096)
    12  state: 1 live, 0 closed, 2 moved (reopen the path: a new size)
    16  width   20 height   24 stride (bytes per row)   28 pixel format (1 = RGBA8)
    32  buffer count (2)     36  writer pid             40  bytes per buffer (u64)
    48  frames published (u64)                           56  front buffer index (u32)
    64 + 32*i  buffer i: seq (u64, odd while being written), frame index (u64),
               capture time and publish time (f64, CLOCK_MONOTONIC seconds)
    192 command seq (u32, written by OBS)   196 last command seq handled (u32, by us)
    256 + 32*k command slot k of 8: length (u16) + up to 30 ASCII bytes
    4096 + i * bytes-per-buffer: buffer i pixels

Publishing is double-buffered and seqlock-style per buffer: the writer makes the back
buffer's seq odd, copies, makes it even, then flips ``front``. A reader copies the front
buffer and keeps the copy only if that buffer's seq was even and unchanged around the
copy, so it never shows a torn frame. A size change writes a new file, renames it over
the path (atomic) and marks the old one "moved", so a reader never sees a shrinking map.
"""

from __future__ import annotations

import logging
import mmap
import os
import re
import struct
import threading
from collections.abc import Callable
from fractions import Fraction

import cv2
import numpy as np

from stylecast.errors import SinkError, StylecastError
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import Frame

log = logging.getLogger(__name__)

SHM_DIR = "/dev/shm"
MAGIC = b"SCST"
VERSION = 1
HEADER_BYTES = 4096
BUFFERS = 2
FORMAT_RGBA8 = 1
STATE_CLOSED, STATE_LIVE, STATE_MOVED = 0, 1, 2
BUFFER_META = 64  # + 32 * index
META_STRIDE = 32
CMD_SEQ, CMD_ACK = 192, 196
CMD_SLOTS, CMD_SLOT_BYTES, CMD_BASE = 8, 32, 256
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

CommandCallback = Callable[[str], None]


def segment_path(name: str) -> str:
    """``/dev/shm/stylecast-<name>``; raises SinkError for names a file cannot carry."""
    if not _NAME.match(name):
        raise SinkError(f"shared-memory name {name!r} is invalid: use 1-64 letters, digits, "
                        "'-' or '_', e.g. 'stylecast'")
    return os.path.join(SHM_DIR, f"stylecast-{name}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class _Segment:
    """One mapped file of one frame size; owns the fd, the map and the numpy views."""

    def __init__(self, path: str, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.stride = width * 4
        self.buffer_bytes = self.stride * height
        total = HEADER_BYTES + BUFFERS * self.buffer_bytes
        tmp = f"{os.path.dirname(path)}/.{os.path.basename(path)}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, total)
            self.map = mmap.mmap(fd, total, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError:
            os.close(fd)
            os.unlink(tmp)
            raise
        self.fd = fd
        self.inode = os.fstat(fd).st_ino
        self.pixels = [
            np.ndarray((height, width, 4), np.uint8, self.map,
                       HEADER_BYTES + i * self.buffer_bytes)
            for i in range(BUFFERS)
        ]
        struct.pack_into("<4sIIIIIIIIIQQI", self.map, 0, MAGIC, VERSION, HEADER_BYTES,
                         STATE_LIVE, width, height, self.stride, FORMAT_RGBA8, BUFFERS,
                         os.getpid(), self.buffer_bytes, 0, 0)
        # rename() is atomic: a reader opening the path sees a complete header or the old file.
        os.rename(tmp, path)
        self.published = 0
        self.front = 0

    def publish(self, frame: Frame) -> None:
        back = 1 - self.front
        meta = BUFFER_META + back * META_STRIDE
        seq = struct.unpack_from("<Q", self.map, meta)[0]
        struct.pack_into("<Q", self.map, meta, seq + 1)  # odd: being written
        out = cv2.cvtColor(frame.data, cv2.COLOR_RGB2RGBA, dst=self.pixels[back])
        if out is not self.pixels[back]:  # OpenCV must write into the map, not a copy
            self.pixels[back][...] = out
        struct.pack_into("<Qdd", self.map, meta + 8, frame.index, frame.t_capture,
                         frame.t_capture if frame.t_stylized is None else frame.t_stylized)
        struct.pack_into("<Q", self.map, meta, seq + 2)  # even: complete
        self.front = back
        self.published += 1
        struct.pack_into("<I", self.map, 56, back)
        struct.pack_into("<Q", self.map, 48, self.published)

    def set_state(self, state: int) -> None:
        struct.pack_into("<I", self.map, 12, state)

    def release(self) -> None:
        self.pixels = []  # numpy views pin the map; drop them before closing it
        self.map.close()
        os.close(self.fd)


class SharedMemorySink(Sink):
    """Publish stylized frames for the OBS Lua source, and take its hotkey commands.

    Args:
        name: the segment is ``/dev/shm/stylecast-<name>``; the OBS source's "shared
            memory name" setting must match (default ``stylecast``).
        on_command: called with each command OBS wrote into the command slot (for example
            ``"next_style"``), from the sink's thread, at most once per frame sent. It must
            be quick; a StylecastError it raises is logged, not fatal.

    Lifecycle: ``open()`` once, ``send()`` per frame, ``close()`` (idempotent) marks the
    segment closed, so OBS shows "no signal", and unlinks it.
    """

    name = "obs-shm"

    def __init__(self, name: str = "stylecast", *,
                 on_command: CommandCallback | None = None) -> None:
        self.path = segment_path(name)
        self.segment_name = name
        self.on_command = on_command
        self._segment: _Segment | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._last_command = 0

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        """Create the segment (replacing a stale one); raises SinkError if another live
        stylecast publishes under the same name or /dev/shm is unusable."""
        with self._lock:
            if self._closed or self._segment is not None:
                raise SinkError(f"shared memory {self.path} was already opened or closed; "
                                "use a new sink")
            self._check_not_taken()
            self._segment = self._create(width, height)

    def _check_not_taken(self) -> None:
        try:
            with open(self.path, "rb") as f:
                head = f.read(40)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SinkError(f"cannot read {self.path} ({exc.strerror}); remove it or pick "
                            "another --obs shared-memory name") from exc
        if len(head) == 40 and head[:4] == MAGIC:
            state = struct.unpack_from("<I", head, 12)[0]
            pid = struct.unpack_from("<I", head, 36)[0]
            if state == STATE_LIVE and pid != os.getpid() and _pid_alive(pid):
                raise SinkError(f"another stylecast (pid {pid}) is publishing to {self.path}; "
                                "stop it or give this one another shared-memory name")
        log.info("shm: replacing the stale segment %s", self.path)

    def _create(self, width: int, height: int) -> _Segment:
        try:
            return _Segment(self.path, width, height)
        except OSError as exc:
            raise SinkError(f"cannot create shared memory {self.path} ({exc.strerror}); "
                            f"is {SHM_DIR} mounted and writable?") from exc

    def send(self, frame: Frame) -> None:
        """Publish one (H, W, 3) uint8 RGB frame (a new size re-lays the segment out),
        then hand any new OBS commands to ``on_command``."""
        with self._lock:
            segment = self._segment
            if segment is None:
                raise SinkError(f"shared memory {self.path} is not open: open() it first")
            if (frame.width, frame.height) != (segment.width, segment.height):
                segment = self._resize(segment, frame.width, frame.height)
            segment.publish(frame)
            commands = self._take_commands(segment)
        for command in commands:
            self._dispatch(command)

    def _resize(self, old: _Segment, width: int, height: int) -> _Segment:
        commands = self._take_commands(old)
        new = self._create(width, height)  # renamed over the path before the old is retired
        old.set_state(STATE_MOVED)
        old.release()
        self._segment = new
        self._last_command = 0
        log.info("shm: frame size is now %dx%d", width, height)
        for command in commands:
            self._dispatch(command)
        return new

    def _take_commands(self, segment: _Segment) -> list[str]:
        seq = struct.unpack_from("<I", segment.map, CMD_SEQ)[0]
        if seq == self._last_command:
            return []
        if seq < self._last_command:  # the OBS side started counting again
            self._last_command = 0
        # Only the newest CMD_SLOTS survive a burst between two frames: the ring wrapped.
        first = max(self._last_command + 1, seq - CMD_SLOTS + 1)
        commands = []
        for n in range(first, seq + 1):
            offset = CMD_BASE + ((n - 1) % CMD_SLOTS) * CMD_SLOT_BYTES
            length = min(struct.unpack_from("<H", segment.map, offset)[0], CMD_SLOT_BYTES - 2)
            raw = bytes(segment.map[offset + 2:offset + 2 + length])
            commands.append(raw.decode("ascii", "replace"))
        self._last_command = seq
        struct.pack_into("<I", segment.map, CMD_ACK, seq)
        return commands

    def _dispatch(self, command: str) -> None:
        callback = self.on_command
        if callback is None:
            log.info("shm: OBS sent %r but nothing handles commands", command)
            return
        try:
            callback(command)
        except StylecastError as exc:
            log.warning("shm: OBS command %r failed: %s", command, exc)

    def close(self) -> None:
        """Mark the segment closed (OBS shows no signal) and unlink it; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            segment, self._segment = self._segment, None
        if segment is None:
            return
        segment.set_state(STATE_CLOSED)
        try:
            # Unlink only our own file: a newer stylecast may have replaced a stale one.
            if os.stat(self.path).st_ino == segment.inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        segment.release()
