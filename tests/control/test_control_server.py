"""The control server for real, on 127.0.0.1 with port 0, driven by websockets clients."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from stylecast.control.access import is_loopback
from stylecast.control.client import ControlClient, next_reply
from stylecast.control.client import http_get as client_http_get
from stylecast.control.server import ControlServer
from stylecast.errors import ConfigError, StylecastError

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
_ids = itertools.count(1)


def ws_connect(server: ControlServer, query: str = "", **kwargs: Any) -> ClientConnection:
    ws: ClientConnection = connect(f"ws://127.0.0.1:{server.port}/ws{query}",
                                   open_timeout=5, close_timeout=1, **kwargs)
    return ws


def recv_reply(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The next message that is not a pushed event."""
    return next_reply(ws, timeout)[0]


def request(ws: ClientConnection, **message: Any) -> dict[str, Any]:
    message.setdefault("id", next(_ids))
    ws.send(json.dumps(message))
    reply = recv_reply(ws)
    assert reply.get("id") == message["id"], reply
    return reply


def http_get(server: ControlServer, path: str, headers: dict[str, str] | None = None,
             method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    return client_http_get("127.0.0.1", server.port, path, headers=headers, method=method)


# -- the protocol over a real connection -------------------------------------------------

def test_every_message_type_round_trips(server: ControlServer, target: Any) -> None:
    with ws_connect(server) as ws:
        hello = request(ws, type="hello", client="pytest")
        assert hello["ok"] and hello["protocol"] == "1.0"
        assert hello["limits"]["max_message_bytes"] == 64 * 1024
        assert hello["limits"]["rate_per_s"] == 50 and hello["limits"]["burst"] == 100
        styles = request(ws, type="list_styles")
        assert styles["type"] == "styles" and len(styles["styles"]) == 3
        reply = request(ws, type="set_style", style="scream", transition_ms=300)
        assert reply["type"] == "set_style" and reply["style"] == "scream"
        reply = request(ws, type="blend", styles={"scream": 0.25, "great-wave": 0.75})
        assert reply["style"] == "great-wave" and reply["styles"]["scream"] == 0.25
        assert request(ws, type="set_strength", value=0.3)["strength"] == 0.3
        assert request(ws, type="set_preserve_colour", value=0.7)["preserve_colour"] == 0.7
        assert request(ws, type="set_temporal", enabled=False)["temporal"] is False
        assert request(ws, type="pause")["paused"] is True
        assert request(ws, type="resume")["paused"] is False
        snap = request(ws, type="snapshot")
        assert base64.b64decode(snap["data"]).startswith(PNG)
        stats = request(ws, type="get_stats")
        assert stats["type"] == "stats" and stats["fps"] == 29.5
    names = [name for name, _ in target.calls if name not in ("stats", "add_listener")]
    assert names == ["list_styles", "set_style", "blend", "set_strength",
                     "set_preserve_colour", "set_temporal", "pause", "resume", "snapshot"]


def test_bad_requests_leave_the_connection_usable(server: ControlServer) -> None:
    with ws_connect(server) as ws:
        for text in ("{oops", "[]", '{"type": "warp"}', '{"type": "set_strength"}',
                     '{"type": "set_strength", "value": "high"}',
                     '{"type": "set_strength", "value": 3}'):
            ws.send(text)
            reply = recv_reply(ws)
            assert reply["ok"] is False and reply["error"], text
        ws.send(b'{"type": "pause"}')
        reply = recv_reply(ws)
        assert reply["ok"] is False and "binary" in reply["error"]
        reply = request(ws, type="set_style", style="mona-lisa", id="abc")
        assert reply["code"] == "style_not_found" and reply["id"] == "abc"
        assert request(ws, type="pause", id="still-here")["ok"] is True


def test_replies_echo_ids_in_order(server: ControlServer) -> None:
    with ws_connect(server) as ws:
        for rid in ("a", 2, "c"):
            ws.send(json.dumps({"type": "set_strength", "value": 0.5, "id": rid}))
        assert [recv_reply(ws)["id"] for _ in range(3)] == ["a", 2, "c"]


def test_rate_limit_answers_but_does_not_process(make_server: Callable[..., ControlServer],
                                                 target: Any) -> None:
    server = make_server(rate_limit=(2.0, 10))
    with ws_connect(server) as ws:
        for i in range(30):
            ws.send(json.dumps({"type": "pause", "id": i}))
        replies = [recv_reply(ws) for _ in range(30)]
        ok = [r for r in replies if r["ok"]]
        limited = [r for r in replies if not r["ok"]]
        assert 10 <= len(ok) <= 13, len(ok)  # the burst, plus refills while it ran
        assert all(r["code"] == "rate_limited" and r["error"].startswith("rate limit")
                   for r in limited)
        assert target.count("pause") == len(ok)
        time.sleep(0.6)  # the bucket refills; the connection stayed open
        assert request(ws, type="resume")["ok"] is True


def test_oversized_message_closes_with_1009(server: ControlServer) -> None:
    with ws_connect(server) as ws:
        ws.send(json.dumps({"type": "hello", "client": "x" * (65 * 1024)}))
        with pytest.raises(ConnectionClosed) as info:
            recv_reply(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    with ws_connect(server) as ws:  # the server itself is fine
        assert request(ws, type="hello")["ok"]


# -- pushed events -------------------------------------------------------------------------

def test_pushed_stats_arrive_at_the_interval(make_server: Callable[..., ControlServer]) -> None:
    server = make_server(stats_interval_s=0.1)
    with ws_connect(server) as ws:
        times: list[float] = []
        while len(times) < 5:
            message = json.loads(ws.recv(timeout=2))
            if message["type"] == "stats":
                assert message["ok"] is True and "id" not in message and "fps" in message
                times.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Ticks keep a fixed schedule, so one late tick makes a short gap after it: check the
    # average cadence, and that nothing stalled.
    assert 0.05 < sum(gaps) / len(gaps) < 0.3 and max(gaps) < 0.8, gaps


@pytest.mark.slow
def test_pushed_stats_arrive_every_second(server: ControlServer) -> None:
    with ws_connect(server) as ws:
        times: list[float] = []
        while len(times) < 4:
            if json.loads(ws.recv(timeout=3))["type"] == "stats":
                times.append(time.monotonic())
    assert 0.8 < (times[-1] - times[0]) / 3 < 1.2, times


def test_listener_events_reach_every_client(server: ControlServer, target: Any) -> None:
    with ws_connect(server) as a, ws_connect(server) as b:
        request(a, type="hello")
        request(b, type="hello")  # both registered before the event
        event = {"type": "style_changed", "style": "scream", "styles": {"scream": 1.0}}
        threading.Thread(target=target.emit, args=(event,)).start()
        for ws in (a, b):
            while (message := json.loads(ws.recv(timeout=2)))["type"] == "stats":
                pass
            assert message == event
    target.emit({"type": "error", "error": "after the clients left"})  # no one listening


def test_bad_events_are_dropped(server: ControlServer, target: Any) -> None:
    with ws_connect(server) as ws:
        request(ws, type="hello")
        target.emit({"no": "type"})
        target.emit({"type": "error", "error": "camera lost"})
        while (message := json.loads(ws.recv(timeout=2)))["type"] == "stats":
            pass
        assert message == {"type": "error", "error": "camera lost"}


def test_slow_client_never_blocks_the_pipeline(server: ControlServer, target: Any) -> None:
    """A client that stops reading: events keep flowing to others at full speed."""
    with ws_connect(server, max_queue=1) as sleeper, ws_connect(server) as awake:
        request(sleeper, type="hello")
        request(awake, type="hello")
        padding = "x" * 4000
        started = time.monotonic()
        for i in range(2000):  # 8 MB: more than the sleeper's socket buffers hold
            target.emit({"type": "tick", "n": i, "pad": padding})
        assert time.monotonic() - started < 1.0  # the pipeline thread never waited
        target.emit({"type": "last"})
        seen = 0
        while (message := json.loads(awake.recv(timeout=5)))["type"] != "last":
            seen += message["type"] == "tick"
        assert seen > 0
        assert request(awake, type="get_stats")["ok"]


# -- HTTP ------------------------------------------------------------------------------

def test_http_page_thumbnails_preview_snapshot(server: ControlServer, target: Any) -> None:
    status, headers, body = http_get(server, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<title>stylecast control</title>" in body
    assert "script-src 'sha256-" in headers["content-security-policy"]
    assert b"http://" not in body and b"https://" not in body  # no external fetches
    status, headers, body = http_get(server, "/thumb/scream.png")
    assert status == 200 and headers["content-type"] == "image/png" and body.startswith(PNG)
    assert ("thumbnail", ("scream",)) in target.calls
    status, headers, body = http_get(server, "/preview.jpg")
    assert status == 200 and headers["content-type"] == "image/jpeg" and body.startswith(JPEG)
    assert headers["cache-control"] == "no-store"
    assert http_get(server, "/preview.jpg?w=320")[0] == 200
    assert target.calls[-2:] == [("preview_jpeg", (480,)), ("preview_jpeg", (320,))]
    status, headers, body = http_get(server, "/snapshot.png")
    assert status == 200 and body == target.frame


@pytest.mark.parametrize(("path", "status"), [
    ("/thumb/mona-lisa.png", 404), ("/thumb/bad%20name.png", 404),
    ("/thumb/..%2F..%2Fetc.png", 404), ("/nothing", 404), ("/preview.jpg?w=5", 400),
    ("/preview.jpg?w=big", 400),
])
def test_http_errors(server: ControlServer, path: str, status: int) -> None:
    assert http_get(server, path)[0] == status


def test_http_without_a_frame(server: ControlServer, target: Any) -> None:
    target.preview = None
    target.frame = None
    status, headers, _ = http_get(server, "/preview.jpg")
    assert status == 503 and headers["retry-after"] == "1"
    status, _, body = http_get(server, "/snapshot.png")
    assert status == 503 and b"no output frame yet" in body
    assert http_get(server, "/", method="POST")[0] == 405


def test_http_target_bug_is_a_500(server: ControlServer, target: Any,
                                  caplog: pytest.LogCaptureFixture) -> None:
    def broken(style: str) -> bytes:
        raise RuntimeError("renderer exploded")
    target.thumbnail = broken
    status, _, body = http_get(server, "/thumb/scream.png")
    assert status == 500 and b"broken failed inside stylecast (RuntimeError)" in body
    assert "renderer exploded" in caplog.text


# -- access control ------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "stylecast.example"])
def test_non_loopback_bind_needs_a_token(target: Any, host: str) -> None:
    with pytest.raises(ConfigError, match="token"):
        ControlServer(target, host=host, port=0)


def test_loopback_detection() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "", "10.0.0.1", "example.com"]))


@pytest.mark.parametrize("token", ["short", "has space in it", "x" * 300])
def test_weak_tokens_are_refused(target: Any, token: str) -> None:
    with pytest.raises(ConfigError, match="token"):
        ControlServer(target, port=0, token=token)


def test_token_is_enforced(make_server: Callable[..., ControlServer]) -> None:
    server = make_server(token="s3cret-token")
    with pytest.raises(InvalidStatus) as info:
        ws_connect(server)
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        ws_connect(server, "?token=wrong-token")
    with ws_connect(server, "?token=s3cret-token") as ws:
        assert request(ws, type="hello")["ok"]
    with ws_connect(server, additional_headers={"Authorization": "Bearer s3cret-token"}) as ws:
        assert request(ws, type="hello")["ok"]
    for path in ("/", "/thumb/scream.png", "/preview.jpg", "/snapshot.png"):
        status, headers, _ = http_get(server, path)
        assert status == 401 and headers["www-authenticate"] == "Bearer", path
        assert http_get(server, path + "?token=s3cret-token")[0] == 200
        assert http_get(server, path, {"Authorization": "Bearer s3cret-token"})[0] == 200


def test_foreign_origin_and_host_are_refused(server: ControlServer) -> None:
    """Cross-site websocket hijacking and DNS rebinding, from a hostile page's browser."""
    with pytest.raises(InvalidStatus) as info:
        ws_connect(server, origin="http://evil.example")
    assert info.value.response.status_code == 403
    same = f"http://127.0.0.1:{server.port}"
    with ws_connect(server, origin=same) as ws:
        assert request(ws, type="hello")["ok"]
    assert http_get(server, "/", {"Host": f"evil.example:{server.port}"})[0] == 403
    assert http_get(server, "/", {"Host": f"localhost:{server.port}"})[0] == 200


# -- lifecycle -------------------------------------------------------------------------

def test_lifecycle(target: Any) -> None:
    server = ControlServer(target, port=0)
    server.stop()  # before start: fine
    server.stop()
    with pytest.raises(StylecastError, match="starts once"):
        server.start()
    with ControlServer(target, port=0) as running:
        assert running.port > 0 and running.url.endswith(f":{running.port}/")
        with pytest.raises(StylecastError, match="starts once"):
            running.start()
    running.stop()
    target.emit({"type": "error", "error": "late event"})  # a no-op after stop


def test_port_in_use(server: ControlServer, target: Any) -> None:
    with pytest.raises(ConfigError, match="cannot listen"):
        ControlServer(target, port=server.port).start()


def test_too_many_clients(make_server: Callable[..., ControlServer]) -> None:
    server = make_server(max_clients=1)
    with ws_connect(server) as ws:
        request(ws, type="hello")
        with pytest.raises(InvalidStatus) as info:
            ws_connect(server)
        assert info.value.response.status_code == 503


def test_stop_is_prompt_with_clients_and_a_hung_target(
        make_server: Callable[..., ControlServer], target: Any) -> None:
    server = make_server()
    target.block = threading.Event()
    with ws_connect(server) as ws, ws_connect(server) as idle:
        request(idle, type="hello")
        ws.send(json.dumps({"type": "set_style", "style": "scream", "id": 1}))
        time.sleep(0.1)  # the call is now stuck inside the target
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 3.0
        with pytest.raises(ConnectionClosed):
            idle.recv(timeout=2)
    target.block.set()
    server.stop()  # idempotent


def test_the_control_client_pairs_replies_with_requests(server: ControlServer) -> None:
    with ControlClient(port=server.port) as client:
        assert client.request(type="hello", client="pytest")["ok"] is True
        reply = client.request({"type": "set_style", "style": "mona-lisa"})
        assert reply["ok"] is False and "mona-lisa" in reply["error"]
        assert client.request(type="get_stats")["ok"] is True
        status, body = client.get("/")
        assert status == 200 and b"<html" in body[:200].lower()
