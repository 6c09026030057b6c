"""Hostile clients against the REAL control server (tests of handle() alone live in
test_control_protocol.py): fuzzed frames over one connection, floods, oversized frames."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from stylecast.control.protocol import MESSAGES
from stylecast.control.server import ControlServer
from tests.control.test_control_server import recv_reply, request, ws_connect

MAX_BYTES = 4096
_sentinels = itertools.count()


@pytest.fixture(scope="module")
def fuzz_server(shared_target: Any) -> Iterator[ControlServer]:
    """One server for every hypothesis example; generous rate so the fuzzer is not limited."""
    server = ControlServer(shared_target, port=0, rate_limit=(10_000.0, 10_000),
                           max_message_bytes=MAX_BYTES)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fuzz_ws(fuzz_server: ControlServer) -> Iterator[ClientConnection]:
    """One connection for every example: it must stay usable through all of them."""
    with ws_connect(fuzz_server) as ws:
        yield ws


_scalar = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=30))
_value = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_typed = st.builds(lambda kind, extra: json.dumps({"type": kind, **extra}, allow_nan=True),
                   st.sampled_from([*MESSAGES, "", "nope", "HELLO"]) | _value,
                   st.dictionaries(st.sampled_from(["style", "styles", "value", "enabled",
                                                    "transition_ms", "id", "client"]),
                                   _value, max_size=4))
_frames = (_typed | st.text(max_size=300) | st.binary(max_size=300)
           | _value.map(lambda v: json.dumps(v, allow_nan=True)))


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(frame=_frames)
def test_fuzzed_frames_get_an_answer_and_keep_the_connection(
    fuzz_ws: ClientConnection, frame: str | bytes,
) -> None:
    # A reply without an id looks like a pushed message, so a sentinel request with a
    # fresh id marks where the answer to the fuzzed frame must have arrived.
    sentinel = f"sentinel-{next(_sentinels)}"
    fuzz_ws.send(frame)
    fuzz_ws.send(json.dumps({"type": "get_stats", "id": sentinel}))
    before: list[dict[str, Any]] = []
    while (message := json.loads(fuzz_ws.recv(timeout=5))).get("id") != sentinel:
        before.append(message)
    assert message["ok"] is True  # the connection is still usable
    assert before, "the fuzzed frame got no answer"
    for reply in before:
        assert isinstance(reply["ok"], bool) and isinstance(reply["type"], str)
        if not reply["ok"]:
            assert isinstance(reply["error"], str) and reply["error"]
            assert "\n" not in reply["error"]


@pytest.mark.parametrize("size", [MAX_BYTES + 1, 10 * MAX_BYTES, 1 << 20])
def test_oversized_frames_close_only_that_connection(fuzz_server: ControlServer,
                                                     size: int) -> None:
    with ws_connect(fuzz_server) as bystander, ws_connect(fuzz_server) as attacker:
        attacker.send("x" * size)
        with pytest.raises(ConnectionClosed) as info:
            recv_reply(attacker)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        assert request(bystander, type="hello")["ok"] is True
    with ws_connect(fuzz_server) as ws:  # and new connections are welcome
        assert request(ws, type="get_stats")["ok"] is True


def test_flood_is_limited_per_connection_and_others_are_unaffected(make_server: Any) -> None:
    server: ControlServer = make_server(rate_limit=(20.0, 20))
    stop = threading.Event()
    flood_replies: list[dict[str, Any]] = []

    def flood() -> None:
        with ws_connect(server) as ws:
            while not stop.is_set():
                for i in range(50):
                    ws.send(json.dumps({"type": "get_stats", "id": i}))
                answered = 0
                while answered < 50:
                    message = json.loads(ws.recv(timeout=10))
                    # Answers carry the id, or are rate_limited (never parsed, no id);
                    # anything else is a pushed stats message.
                    if "id" in message or message.get("code") == "rate_limited":
                        flood_replies.append(message)
                        answered += 1

    flooders = [threading.Thread(target=flood, daemon=True) for _ in range(3)]
    for thread in flooders:
        thread.start()
    try:
        time.sleep(0.5)
        with ws_connect(server) as calm:
            for _ in range(10):  # well inside its own budget: never limited
                assert request(calm, type="get_stats")["ok"] is True
                time.sleep(0.06)
    finally:
        stop.set()
        for thread in flooders:
            thread.join(10)
    limited = [r for r in flood_replies if r.get("code") == "rate_limited"]
    assert limited and len(limited) > len(flood_replies) // 2
    assert all(not t.is_alive() for t in flooders)


def test_garbage_then_valid_on_many_connections_at_once(fuzz_server: ControlServer) -> None:
    garbage = ["{", "null", "[1,2]", '{"type": 7}', '{"type": "set_style", "style": {}}',
               '{"type": "set_strength", "value": 1e999}', "\ud800".encode("utf-8",
                                                                          "surrogatepass")]
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with ws_connect(fuzz_server) as ws:
                for text in garbage:
                    ws.send(text)
                    assert recv_reply(ws)["ok"] is False
                assert request(ws, type="hello")["ok"] is True
        except BaseException as exc:  # collected and re-raised on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
