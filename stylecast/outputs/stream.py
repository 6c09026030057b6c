"""Low-latency local stream for OBS's media source, ffplay or VLC.

``tcp://HOST:PORT``: stylecast is the server (``?listen=1`` semantics). It listens from
``open()`` and sends NUT to one client at a time; a client that leaves is replaced by the
next one to connect. ``udp://HOST:PORT``: MPEG-TS datagrams, no client needed. The
project's notes measured OBS's media source at ~130 ms (TCP NUT) and ~200 ms (UDP TS);
in OBS set ``buffering_mb`` to 0 and ``input_format`` to ``nut`` for TCP.

Video is H.264 (libx264 ultrafast, zerolatency, keyframe every GOP_S). A writer thread
owns the socket and the encoder, so ``send()`` never blocks the pipeline: frames go
through a drop-oldest hand-off and are dropped while no client is connected.

The listening socket is ours, not FFmpeg's ``listen=1``: PyAV gives output containers no
interrupt callback, so FFmpeg's accept could only be left through its ``listen_timeout``,
re-binding the port each time (refusing clients in between). Owning the socket also
reports a taken port from ``open()`` and lets ``close()`` return promptly.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
from collections.abc import Callable
from fractions import Fraction
from urllib.parse import parse_qsl, urlencode, urlsplit

import av
import av.error
from av.container import OutputContainer

from stylecast.errors import SinkError, StreamError, first_line
from stylecast.outputs import encoding
from stylecast.outputs.base import Sink
from stylecast.pipeline.frames import Frame
from stylecast.pipeline.queue import BoundedQueue

log = logging.getLogger(__name__)

MUXERS = {"tcp": "nut", "udp": "mpegts"}
CODECS = ("libx264", "mpeg4")  # both travel in NUT and MPEG-TS
X264_LIVE = {"preset": "ultrafast", "tune": "zerolatency"}
GOP_S = 1.0  # a UDP viewer joining late waits at most this long for a picture
TIME_BASE = Fraction(1, 1000)  # pts from capture time in ms: frames dropped upstream leave gaps
POLL_S = 0.2
SEND_TIMEOUT_S = 2.0  # a client that takes nothing for this long is dropped
JOIN_S = 2.0
TS_PACKET_SIZE = "1316"  # 7 x 188-byte TS packets per datagram
_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # EPIPE instead of SIGPIPE on Linux
_AV_ERRORS = (av.error.FFmpegError, OSError)


class StreamSink(Sink):
    """Stream stylized video over TCP (NUT, stylecast listens) or UDP (MPEG-TS).

    Args:
        url: ``tcp://127.0.0.1:9000`` (port 0 picks a free one; see ``url`` after open)
            or ``udp://127.0.0.1:9000``.

    Attributes:
        frames_sent: frames encoded and written to a client or the UDP socket.
        clients_served: TCP clients that have connected so far.
    """

    name = "stream"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in MUXERS or not parts.hostname or port is None:
            raise StreamError(f"cannot stream to {url!r}: expected tcp://HOST:PORT or "
                              "udp://HOST:PORT, e.g. tcp://127.0.0.1:9000")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, port
        self._query = parts.query
        self.frames_sent = 0
        self.clients_served = 0
        self._queue: BoundedQueue[Frame] = BoundedQueue(2, "drop_oldest")
        self._stop = threading.Event()
        self._state_lock = threading.Lock()
        self._opened = False
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._size = (0, 0)
        self._fps = Fraction(30)

    @property
    def url(self) -> str:
        """The address viewers use (with the real port once a tcp sink is open)."""
        return f"{self._scheme}://{self._host}:{self._port}"

    def open(self, *, width: int, height: int, fps: Fraction) -> None:
        """Start listening (tcp) or sending (udp); raises StreamError."""
        encoding.check_even(width, height, f"stream {self.url}", StreamError)
        with self._state_lock:
            if self._opened or self._stop.is_set():
                raise StreamError(f"stream {self.url} was already opened or closed; use a "
                                  "new sink")
            self._opened = True
        self._size, self._fps = (width, height), Fraction(fps)
        try:
            socket.getaddrinfo(self._host, self._port)
        except OSError as exc:
            raise StreamError(f"cannot stream to {self.url}: unknown host {self._host!r} "
                              f"({first_line(exc)}); use 127.0.0.1 for this machine") from exc
        target: Callable[[], None] = self._serve_udp
        if self._scheme == "tcp":
            listener = self._listen()
            target = functools.partial(self._serve_tcp, listener)
        self._thread = threading.Thread(target=self._run, args=(target,),
                                        name=f"stream {self.url}", daemon=True)
        self._thread.start()

    def send(self, frame: Frame) -> None:
        """Queue one (H, W, 3) uint8 RGB frame; never blocks; raises the writer's error."""
        if isinstance(self._error, SinkError):
            raise self._error
        if self._error is not None:
            raise StreamError(f"stream {self.url} failed: {self._error}") from self._error
        if self._thread is None or self._stop.is_set():
            raise StreamError(f"stream {self.url} is not open: open() it first")
        encoding.check_frame_size(frame, self._size, f"stream {self.url}", StreamError)
        self._queue.put(frame, stop=self._stop)

    def close(self) -> None:
        """Stop the writer, flush, release the port; idempotent, returns within ~2 s."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._queue.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_S)
        if self._listener is not None:
            self._listener.close()

    # -- writer thread ----------------------------------------------------------------

    def _listen(self) -> socket.socket:
        try:
            listener = socket.create_server((self._host, self._port))
        except OSError as exc:
            raise StreamError(f"cannot listen on {self.url} ({first_line(exc)}): is another "
                              "program using the port? pick another one") from exc
        listener.settimeout(POLL_S)  # accept() wakes up to notice close()
        self._listener = listener
        self._port = listener.getsockname()[1]
        log.info("stream: waiting for a viewer at %s (NUT)", self.url)
        return listener

    def _run(self, target: Callable[[], None]) -> None:
        try:
            target()
        except Exception as exc:  # not a fallback: handed to send(), which raises it
            self._error = exc

    def _serve_tcp(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            conn = self._accept(listener)
            if conn is None:
                return
            self._queue.clear()  # frames queued while nobody watched are stale
            self.clients_served += 1
            try:
                with conn:
                    container = av.open(_SocketWriter(conn), "w", format="nut",
                                        container_options={"flush_packets": "1"})
                    self._encode_until_stopped(container)
            except _AV_ERRORS as exc:
                log.info("stream: viewer left (%s); waiting for the next one", first_line(exc))

    def _accept(self, listener: socket.socket) -> socket.socket | None:
        while not self._stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stop.is_set():
                    return None
                raise StreamError(f"stream {self.url} stopped listening ({first_line(exc)})"
                                  ) from exc
            conn.settimeout(SEND_TIMEOUT_S)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            log.info("stream: viewer connected from %s:%s", *peer[:2])
            return conn
        return None

    def _serve_udp(self) -> None:
        query = dict(parse_qsl(self._query))
        query.setdefault("pkt_size", TS_PACKET_SIZE)
        url = f"{self.url}?{urlencode(query)}"
        try:
            container = av.open(url, "w", format="mpegts",
                                container_options={"flush_packets": "1"})
            self._encode_until_stopped(container)
        except _AV_ERRORS as exc:
            raise StreamError(f"sending to {self.url} failed ({first_line(exc)}): check the "
                              "address") from exc

    def _encode_until_stopped(self, container: OutputContainer) -> None:
        """Encode queued frames into ``container`` until close(); closes the container."""
        try:
            stream = encoding.add_video_stream(container, CODECS, width=self._size[0],
                                               height=self._size[1], fps=self._fps,
                                               time_base=TIME_BASE, options=X264_LIVE,
                                               what=f"stream {self.url}")
            stream.codec_context.gop_size = max(1, round(self._fps * Fraction(GOP_S)))
            start: float | None = None
            last = -1
            while not self._stop.is_set():
                frame = self._queue.get(POLL_S)
                if frame is None:
                    continue
                start = frame.t_capture if start is None else start
                pts = max(last + 1, round((frame.t_capture - start) / TIME_BASE))
                last = pts
                encoding.encode(stream, container,
                                encoding.to_video_frame(frame, pts, TIME_BASE))
                self.frames_sent += 1
            encoding.encode(stream, container, None)
        finally:
            try:
                container.close()
            except _AV_ERRORS as exc:  # the peer is gone already; nothing left to save
                log.debug("stream: closing after an error: %s", first_line(exc))


class _SocketWriter:
    """The file-like object PyAV muxes into: every write goes straight to the client."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn

    def write(self, data: bytes) -> int:
        self._conn.sendall(data, _NOSIGNAL)
        return len(data)
