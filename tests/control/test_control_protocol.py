"""The pure protocol layer: dispatch, strict validation, replies, and a fuzzer."""

from __future__ import annotations

import base64
import json
import logging
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stylecast.control import PROTOCOL_VERSION, ControlTarget, handle, handle_message
from stylecast.control.protocol import MAX_MESSAGE_CHARS, clean, encode
from stylecast.control.schema import MESSAGES
from stylecast.errors import ConfigError


def ask(target: Any, **message: Any) -> dict[str, Any]:
    return handle(target, json.dumps(message))


def test_fake_target_satisfies_the_protocol(target: Any) -> None:
    assert isinstance(target, ControlTarget)


def test_hello_reports_version_and_messages(target: Any) -> None:
    reply = handle(target, '{"type": "hello", "client": "test"}', server_info={"x": 1})
    assert reply["ok"] is True and reply["type"] == "hello"
    assert reply["protocol"] == PROTOCOL_VERSION == "1.0"
    assert set(reply["messages"]) == set(MESSAGES)
    assert reply["x"] == 1


@pytest.mark.parametrize(("message", "reply_type", "call"), [
    ({"type": "list_styles"}, "styles", ("list_styles", ())),
    ({"type": "set_style", "style": "scream", "transition_ms": 250},
     "set_style", ("set_style", ("scream", 250.0))),
    ({"type": "set_style", "style": "scream"}, "set_style", ("set_style", ("scream", 0.0))),
    ({"type": "blend", "styles": {"scream": 1, "great-wave": 0.5}, "transition_ms": 1000},
     "blend", ("blend", ({"scream": 1.0, "great-wave": 0.5}, 1000.0))),
    ({"type": "set_strength", "value": 0.25}, "set_strength", ("set_strength", (0.25,))),
    ({"type": "set_preserve_colour", "value": 1}, "set_preserve_colour",
     ("set_preserve_colour", (1.0,))),
    ({"type": "set_temporal", "enabled": False}, "set_temporal", ("set_temporal", (False,))),
    ({"type": "pause"}, "pause", ("pause", ())),
    ({"type": "resume"}, "resume", ("resume", ())),
    ({"type": "snapshot"}, "snapshot", ("snapshot", ())),
    ({"type": "get_stats"}, "stats", ("stats", ())),
])
def test_each_message_dispatches(target: Any, message: dict[str, Any], reply_type: str,
                                 call: tuple[str, tuple[Any, ...]]) -> None:
    reply = ask(target, **message)
    assert reply["ok"] is True, reply
    assert reply["type"] == reply_type
    assert target.calls == [call]
    json.loads(encode(reply))  # always sendable


def test_state_replies_carry_the_state(target: Any) -> None:
    reply = ask(target, type="set_strength", value=0.5)
    assert reply["strength"] == 0.5 and reply["style"] == "starry-night"
    stats = ask(target, type="get_stats")
    assert {"fps", "latency_p50_ms", "latency_p95_ms", "drops", "frames", "style", "styles",
            "strength", "preserve_colour", "temporal", "paused"} <= set(stats)


def test_list_styles_reply(target: Any) -> None:
    reply = ask(target, type="list_styles")
    assert [s["name"] for s in reply["styles"]] == ["starry-night", "great-wave", "scream"]
    assert set(reply["styles"][0]) == {"name", "title", "artist", "year", "pack"}


def test_snapshot_is_base64_png(target: Any) -> None:
    reply = ask(target, type="snapshot")
    png = base64.b64decode(reply["data"])
    assert png == target.frame and reply["bytes"] == len(png)
    assert reply["mime"] == "image/png" and png.startswith(b"\x89PNG")
    target.frame = None
    reply = ask(target, type="snapshot")
    assert reply == {"type": "snapshot", "ok": False, "code": "failed",
                     "error": "no output frame yet; wait until the pipeline runs"}


@pytest.mark.parametrize("rid", ["abc", 7, 0, -3, "", 2**53 - 1])
def test_id_is_echoed(target: Any, rid: object) -> None:
    assert ask(target, type="pause", id=rid)["id"] == rid
    assert ask(target, type="set_strength", value=9, id=rid)["id"] == rid
    assert ask(target, type="nope", id=rid)["id"] == rid


@pytest.mark.parametrize("rid", [1.5, True, None, [1], {"a": 1}, "x" * 65, 2**53])
def test_bad_id_is_refused_and_not_echoed(target: Any, rid: object) -> None:
    reply = ask(target, type="pause", id=rid)
    assert reply["ok"] is False and "id" not in reply and "'id'" in reply["error"]
    assert reply["type"] == "pause" and target.calls == []


@pytest.mark.parametrize(("text", "code", "fragment"), [
    ("", "bad_json", "not valid JSON"),
    ("{", "bad_json", "not valid JSON"),
    ("hello", "bad_json", "not valid JSON"),
    ('{"type": "set_strength", "value": NaN}', "bad_json", "NaN"),
    ('{"type": "set_strength", "value": Infinity}', "bad_json", "Infinity"),
    ("[" * 100_000 + "]" * 100_000, "too_big", "limit"),
    ("[" * 30_000 + "]" * 30_000, "bad_json", "nested too deeply"),
    ("[]", "bad_request", "JSON object"),
    ('"pause"', "bad_request", "JSON object"),
    ("null", "bad_request", "JSON object"),
    ("{}", "unknown_type", "no 'type' field"),
    ('{"type": 5}', "unknown_type", "must be a string"),
    ('{"type": "Pause"}', "unknown_type", "unknown message type 'Pause'"),
])
def test_malformed_messages(target: Any, text: str, code: str, fragment: str) -> None:
    reply = handle(target, text)
    assert reply["ok"] is False and reply["type"] == "error"
    assert reply["code"] == code and fragment in reply["error"], reply
    assert target.calls == []


@pytest.mark.parametrize(("message", "fragment"), [
    ({"type": "set_style"}, "missing field 'style'"),
    ({"type": "set_style", "style": 3}, "style name"),
    ({"type": "set_style", "style": ""}, "style name"),
    ({"type": "set_style", "style": "a b"}, "style name"),
    ({"type": "set_style", "style": "../etc"}, "style name"),
    ({"type": "set_style", "style": "x" * 65}, "style name"),
    ({"type": "set_style", "style": "scream", "transition_ms": -1}, "0 to 60000"),
    ({"type": "set_style", "style": "scream", "transition_ms": 1e9}, "0 to 60000"),
    ({"type": "set_style", "style": "scream", "transition_ms": "5"}, "0 to 60000"),
    ({"type": "set_style", "style": "scream", "fade": 3}, "unknown field 'fade'"),
    ({"type": "blend", "styles": []}, "1 to 16"),
    ({"type": "blend", "styles": {}}, "1 to 16"),
    ({"type": "blend", "styles": {f"s{i}": 0.1 for i in range(17)}}, "17 entries"),
    ({"type": "blend", "styles": {"scream": 0, "great-wave": 0}}, "above 0"),
    ({"type": "blend", "styles": {"scream": 1.5}}, "0 to 1"),
    ({"type": "blend", "styles": {"scream": -0.1}}, "0 to 1"),
    ({"type": "blend", "styles": {"scream": "1"}}, "0 to 1"),
    ({"type": "blend", "styles": {"no way": 1}}, "style name"),
    ({"type": "set_strength"}, "missing field 'value'"),
    ({"type": "set_strength", "value": 1.01}, "0 to 1"),
    ({"type": "set_strength", "value": True}, "got true"),
    ({"type": "set_strength", "value": None}, "got null"),
    ({"type": "set_preserve_colour", "value": -0.5}, "0 to 1"),
    ({"type": "set_temporal", "enabled": 1}, "true or false"),
    ({"type": "set_temporal", "enabled": "yes"}, "true or false"),
    ({"type": "pause", "now": True}, "unknown field 'now'"),
    ({"type": "hello", "client": "x" * 65}, "at most 64"),
])
def test_invalid_fields(target: Any, message: dict[str, Any], fragment: str) -> None:
    reply = ask(target, id="r1", **message)
    assert reply["ok"] is False and reply["code"] == "bad_request", reply
    assert reply["type"] == message["type"] and reply["id"] == "r1"
    assert fragment in reply["error"], reply["error"]
    assert target.calls == []


def test_overflowing_numbers_are_not_finite(target: Any) -> None:
    reply = handle(target, '{"type": "set_strength", "value": 1e999}')
    assert reply["code"] == "bad_request" and "got inf" in reply["error"]


def test_errors_from_the_target(target: Any) -> None:
    reply = ask(target, type="set_style", style="mona-lisa", id=1)
    assert reply["code"] == "style_not_found" and "'mona-lisa'" in reply["error"]
    reply = ask(target, type="blend", styles={"scream": 1, "great-wave": 1, "s1": 0})
    assert reply["code"] == "style_not_found"
    many = {"scream": 1, "great-wave": 1, "starry-night": 1, "a": 0}
    target._check = lambda name: None
    reply = ask(target, type="blend", styles=many)
    assert reply["code"] == "failed" and "different networks" in reply["error"]


def test_unexpected_target_errors_become_replies(target: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    def broken(value: float) -> dict[str, Any]:
        raise RuntimeError("boom")
    target.set_strength = broken
    with caplog.at_level(logging.ERROR):
        reply = ask(target, type="set_strength", value=0.5, id=4)
    assert reply["ok"] is False and reply["code"] == "internal" and reply["id"] == 4
    assert "RuntimeError: boom" in reply["error"]
    assert "boom" in caplog.text  # the traceback goes to the log


def test_target_values_are_cleaned_for_json(target: Any) -> None:
    target.state.update(fps=np.float32(24.5), drops=np.int64(3), latency_p50_ms=math.nan,
                        latency_p95_ms=np.float64("inf"), type="sneaky", ok=False, id=99)
    reply = ask(target, type="get_stats", id=1)
    assert reply["type"] == "stats" and reply["ok"] is True and reply["id"] == 1
    assert reply["fps"] == 24.5 and reply["drops"] == 3
    assert reply["latency_p50_ms"] is None and reply["latency_p95_ms"] is None
    json.loads(encode(reply))
    target.state["weird"] = object()
    reply = ask(target, type="get_stats")
    assert reply["ok"] is False and reply["code"] == "internal"


def test_clean_refuses_what_json_cannot_hold() -> None:
    assert clean({"a": (1, 2.0, None)}) == {"a": [1, 2.0, None]}
    for bad in ({1: 2}, {"a": {1, 2}}, b"bytes"):
        with pytest.raises(TypeError):
            clean(bad)
    deep: Any = 1
    for _ in range(20):
        deep = [deep]
    with pytest.raises(TypeError):
        clean(deep)


def test_binary_input_and_size_limit(target: Any) -> None:
    assert handle(target, b'{"type":"pause"}')["code"] == "bad_json"  # type: ignore[arg-type]  # raw bytes on purpose
    text = json.dumps({"type": "hello", "client": "x" * MAX_MESSAGE_CHARS})
    assert handle(target, text)["code"] == "too_big"


def test_handle_message_takes_decoded_messages(target: Any) -> None:
    """The OBS bridge's path: the ``stylecast`` object of a CustomEvent."""
    reply = handle_message(target, {"type": "set_temporal", "enabled": False, "id": "obs-1"})
    assert reply == {**target.state, "type": "set_temporal", "ok": True, "id": "obs-1"}


def test_config_error_is_a_failed_reply(target: Any) -> None:
    def refuse(enabled: bool) -> dict[str, Any]:
        raise ConfigError("temporal smoothing needs the full network")
    target.set_temporal = refuse
    reply = ask(target, type="set_temporal", enabled=True)
    assert reply == {"type": "set_temporal", "ok": False, "code": "failed",
                     "error": "temporal smoothing needs the full network"}


# -- fuzzing ---------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12)
_field_names = st.sampled_from(["style", "styles", "value", "enabled", "transition_ms", "id",
                                "client", "protocol", "extra"])
_messages = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from([*MESSAGES, "nope"]),
    st.dictionaries(_field_names, _json | st.dictionaries(
        st.sampled_from(["scream", "great-wave", "bad name", ""]), _json, max_size=18),
        max_size=4))


def _check_reply(reply: object) -> None:
    assert isinstance(reply, dict) and isinstance(reply["ok"], bool)
    assert isinstance(reply["type"], str)
    if not reply["ok"]:
        assert isinstance(reply["error"], str) and reply["error"]
    json.loads(encode(reply))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_json | _messages)
def test_fuzz_json_values_never_raise(shared_target: Any, value: object) -> None:
    _check_reply(handle(shared_target, json.dumps(value)))
    _check_reply(handle_message(shared_target, value))


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_fuzz_raw_text_never_raises(shared_target: Any, text: str) -> None:
    _check_reply(handle(shared_target, text))
