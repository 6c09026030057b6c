"""Style thumbnails for the control page, rendered without stalling the live stream.

Opening the control page asks for every style's thumbnail at once. They used to render on
the request threads, each under the live inference lock, and OpenVINO compiled the
thumbnail size while holding it: the status line fell from 19 to 5.6 fps for a whole
window. Now:

* the runtimes have the thumbnail size ready before the show (OpenVINO compiles it in
  ``open()``; onnxruntime and torch take any size; the TensorRT and CUDA-graph profiles
  reach down to it), so a thumbnail is one small inference (~5 ms at 192x108 on the lite
  network, 2 CPU cores), never a compile;
* one worker thread renders them one at a time, taking the live lock for one thumbnail and
  then leaving a frame's time (``PAUSE_S``) for the live stream before the next;
* each style is rendered once and kept; the first request queues all of them (the page asks
  for all), its own style first.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future

import numpy as np

from stylecast.errors import StylecastError

log = logging.getLogger(__name__)

#: Pause between two thumbnails: a live frame's time, so the live stream takes the lock
#: between them (a lock is not fair: without it one worker could hold it eight times in a
#: row).
PAUSE_S = 0.05
#: How long a request waits for its thumbnail before the page is told to retry.
WAIT_S = 30.0


class Thumbnails:
    """PNG thumbnails of the styles ``names``, rendered by one worker thread, kept.

    Args:
        names: the style names, in style-vector order.
        render: (S,) float32 one-hot style vector -> the thumbnail's PNG; called on the
            worker thread, one call at a time.

    ``close()`` stops the worker; idempotent.
    """

    def __init__(self, names: list[str], render: Callable[[np.ndarray], bytes]) -> None:
        self._names = list(names)
        self._render = render
        self._lock = threading.Lock()
        self._done: dict[str, Future[bytes]] = {}
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._closed = threading.Event()

    def get(self, style: str, timeout: float = WAIT_S) -> bytes:
        """The PNG of ``style`` (one of ``names``), waiting for its render.

        Raises:
            StylecastError: not rendered within ``timeout`` (the page may retry), or the
                thumbnails are closed.
            Exception: whatever the render raised (the next request renders it again).
        """
        with self._lock:
            if self._closed.is_set():
                raise StylecastError("the control page is shutting down")
            future = self._done.get(style)
            if future is None:
                for name in [style, *self._names]:
                    if name not in self._done:
                        self._done[name] = Future()
                        self._queue.put(name)
                future = self._done[style]
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, daemon=True,
                                                    name="stylecast-thumbnails")
                    self._worker.start()
        try:
            return future.result(timeout)
        except TimeoutError as exc:
            raise StylecastError(f"the thumbnail of {style!r} is still rendering behind the "
                                 "live stream; retry shortly") from exc
        except CancelledError as exc:
            raise StylecastError("the control page is shutting down") from exc

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            with self._lock:
                future = self._done.get(name)
            if future is None or not future.set_running_or_notify_cancel():
                continue  # cancelled by close()
            vector = np.zeros(len(self._names), dtype=np.float32)
            vector[self._names.index(name)] = 1.0
            try:
                future.set_result(self._render(vector))
            except Exception as exc:  # noqa: BLE001 - handed to the request that waits
                future.set_exception(exc)
                with self._lock:  # not kept: the next request renders it again
                    if self._done.get(name) is future:
                        del self._done[name]
            if self._closed.wait(PAUSE_S):
                break

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker after the thumbnail it is rendering; idempotent."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            for future in self._done.values():
                future.cancel()  # the queued ones; a running render still finishes
            self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout)
