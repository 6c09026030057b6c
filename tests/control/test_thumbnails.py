"""Opening the control page mid-show does not stall the stream: thumbnails render at a
size the runtime compiled before the show, one at a time on one worker, each style once."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylecast.control.controller import THUMB_SIZE, LiveController
from stylecast.control.thumbnails import PAUSE_S, Thumbnails
from stylecast.engine.mixer import StyleMixer
from stylecast.engine.stylizer import Stylizer
from stylecast.errors import StylecastError
from stylecast.model.pack import load_pack
from stylecast.runtime import open_runtime


class _Pipeline:
    """What LiveController needs of a pipeline: no frames flow in these tests."""

    def add_listener(self, callback: object) -> None:
        pass


class _CountingLock:
    """The stylizer's live inference lock, counting how often it is taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.taken = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        self.taken += 1

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_openvino_thumbnails_compile_nothing_and_take_the_lock_once_each(
    tiny_pack: Path, tmp_path: Path
) -> None:
    pack = load_pack(tiny_pack)
    runtime = open_runtime("openvino", network=pack.network("lite"), cache_dir=tmp_path)
    stylizer = Stylizer(runtime, StyleMixer([s.name for s in pack.styles], {"alpha": 1.0}))
    lock = _CountingLock()
    stylizer._infer_lock = lock  # type: ignore[assignment]  # a counting lock patched in
    controller = LiveController(_Pipeline(), stylizer, pack)  # type: ignore[arg-type]  # a fake pipeline
    try:
        compiled = set(runtime._compiled)  # type: ignore[attr-defined]  # the OpenVINO runtime's compile cache, read to count compiles
        assert (THUMB_SIZE[1], THUMB_SIZE[0]) in compiled, "open() compiles the thumbnail size"
        pictures = {name: np.asarray(Image.open(io.BytesIO(controller.thumbnail(name))))
                    for name in ("alpha", "beta", "gamma")}
        assert set(runtime._compiled) == compiled, "a thumbnail compiled a new size"  # type: ignore[attr-defined]  # the OpenVINO runtime's compile cache, read to count compiles
        assert lock.taken == 3
        assert pictures["alpha"].shape == (THUMB_SIZE[1], THUMB_SIZE[0], 3)
        assert np.abs(pictures["alpha"].astype(int) - pictures["beta"]).mean() > 1
        assert controller.thumbnail("alpha") is controller.thumbnail("alpha")  # kept
        assert lock.taken == 3
    finally:
        controller.close()
        runtime.close()


def test_one_worker_renders_each_style_once_leaving_the_live_stream_time() -> None:
    active = threading.Semaphore(1)
    starts: list[float] = []

    def render(vector: np.ndarray) -> bytes:
        assert active.acquire(blocking=False), "two thumbnails rendered at once"
        starts.append(time.monotonic())
        active.release()
        return bytes([int(np.argmax(vector))])

    thumbs = Thumbnails(["a", "b", "c"], render)
    try:
        results = {}
        threads = [threading.Thread(target=lambda n=n: results.update({n: thumbs.get(n)}))
                   for n in ("c", "a", "b", "c")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == {"a": b"\x00", "b": b"\x01", "c": b"\x02"}
        assert len(starts) == 3
        assert min(np.diff(starts)) >= PAUSE_S * 0.9
    finally:
        thumbs.close()


def test_a_failed_render_is_tried_again_and_close_ends_it() -> None:
    calls: list[int] = []

    def render(vector: np.ndarray) -> bytes:
        calls.append(int(np.argmax(vector)))
        if calls.count(0) == 1 and calls[-1] == 0:
            raise RuntimeError("the first render of a fails")
        return bytes([calls[-1]])

    thumbs = Thumbnails(["a", "b"], render)
    with pytest.raises(RuntimeError, match="first render"):
        thumbs.get("a")
    assert thumbs.get("a") == b"\x00"
    assert thumbs.get("b") == b"\x01"
    assert sorted(calls) == [0, 0, 1]
    thumbs.close()
    thumbs.close()
    with pytest.raises(StylecastError, match="shutting down"):
        thumbs.get("a")
