"""stylecast in a real OBS: the Lua source, scene-driven styles, custom events, hotkeys,
reconnection and the media-source fallback, checked pixel by pixel with screenshots."""

from __future__ import annotations

import logging
import queue
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from obswebsocket import events, obsws

from stylecast.control.obs_bridge import LUA_KIND, MEDIA_KIND
from tests.obs.conftest import SCENE_STYLES, Live
from tests.obs.harness import SCENES, ObsInstance, call, screenshot

pytestmark = pytest.mark.obs

SAME = 2.0        # mean abs difference (0-255) of a lossless frame shown by OBS
SAME_H264 = 5.0   # ... of the media-source route (H.264), over 4x4 tiles
DIFFERENT = 20.0  # another style's rendering differs by far more than this


def mad(shot: np.ndarray, expected: np.ndarray, block: int = 1) -> float:
    """Mean absolute RGB difference between a screenshot and a stylecast frame, after
    averaging ``block`` x ``block`` tiles (H.264's 4:2:0 chroma and quantization scramble
    single pixels of the tiny network's high-frequency texture, not tile averages)."""
    a, b = shot[..., :3].astype(np.float32), expected.astype(np.float32)
    if block > 1:
        size = (a.shape[1] // block, a.shape[0] // block)
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        b = cv2.resize(b, size, interpolation=cv2.INTER_AREA)
    return float(np.abs(a - b).mean())


def wait_for_pixels(client: obsws, source: str, expected: np.ndarray, tolerance: float,
                    deadline_s: float, t0: float | None = None, block: int = 1) -> float:
    """Poll screenshots until ``source`` shows ``expected``.

    Returns:
        Seconds from ``t0`` to the end of the first screenshot request that showed it: an
        upper bound of when OBS had it (the request itself costs 20-120 ms here).
    """
    t0 = time.perf_counter() if t0 is None else t0
    deadline = time.perf_counter() + deadline_s
    last = float("nan")
    while time.perf_counter() < deadline:
        try:
            shot = screenshot(client, source)
        except AssertionError:  # no frame yet: the source has no size
            time.sleep(0.02)
            continue
        if shot.shape[:2] == expected.shape[:2]:
            last = mad(shot, expected, block)
            if last <= tolerance:
                return time.perf_counter() - t0
    raise AssertionError(f"{source} did not show the expected frame within {deadline_s} s "
                         f"(last mean abs diff {last:.1f}, tolerance {tolerance})")


def wait_until(predicate: Callable[[], bool], deadline_s: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < deadline_s:
        if predicate():
            return time.perf_counter() - t0
        time.sleep(0.002)
    raise AssertionError(f"condition not met within {deadline_s} s")


def _latest_is(live: Live, style: str) -> bool:
    frame = live.pipeline.latest()
    return frame is not None and mad(frame.data, live.expected(style)) < SAME


def report(what: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(f"\nLATENCY {what}: median {statistics.median(ms):.0f} ms, min {ms[0]:.0f}, "
          f"max {ms[-1]:.0f} (n={len(ms)})")


def test_lua_source_shows_the_stylized_frames(start_live: Callable[..., Live],
                                              obs_client: obsws) -> None:
    live = start_live()
    assert live.bridge.input_kind == LUA_KIND
    inputs = call(obs_client, "GetInputList")["inputs"]
    assert {"inputName": live.name, "inputKind": LUA_KIND} in [
        {k: i[k] for k in ("inputName", "inputKind")} for i in inputs]
    call(obs_client, "GetSceneItemId", sceneName=SCENES[0], sourceName=live.name)

    wait_for_pixels(obs_client, live.name, live.expected("alpha"), SAME, 10.0)
    shot = screenshot(obs_client, live.name)
    produced = live.pipeline.latest()
    assert produced is not None
    assert shot.shape == (180, 320, 4) and (shot[..., 3] == 255).all()
    assert mad(shot, produced.data) < SAME
    assert mad(shot, live.expected("beta")) > DIFFERENT


def test_program_scene_switch_restyles_the_obs_source(start_live: Callable[..., Live],
                                                      obs_client: obsws) -> None:
    live = start_live()
    wait_for_pixels(obs_client, live.name, live.expected("alpha"), SAME, 10.0)
    to_state, to_output, to_pixels, shots = [], [], [], []
    for scene in [*SCENES[1:], SCENES[0]] * 3:
        style = SCENE_STYLES[scene]
        t0 = time.perf_counter()
        call(obs_client, "SetCurrentProgramScene", sceneName=scene)
        to_state.append(wait_until(lambda s=style: live.controller.stats()["style"] == s, 2.0))
        to_output.append(wait_until(lambda s=style: _latest_is(live, s), 2.0) + to_state[-1])
        to_pixels.append(wait_for_pixels(obs_client, live.name, live.expected(style), SAME,
                                         2.0, t0))
        t1 = time.perf_counter()
        screenshot(obs_client, live.name)
        shots.append(time.perf_counter() - t1)
    report("OBS scene switch -> controller style", to_state)
    report("OBS scene switch -> restyled frame published by stylecast", to_output)
    report("OBS scene switch -> restyled pixels in GetSourceScreenshot (Lua source)",
           to_pixels)
    report("one GetSourceScreenshot request (320x180 PNG)", shots)
    assert statistics.median(to_pixels) < 0.5


def test_custom_event_sets_the_style_and_gets_a_reply(start_live: Callable[..., Live],
                                                      obs_client: obsws) -> None:
    live = start_live()
    replies: queue.Queue[dict] = queue.Queue()

    def on_custom(event: events.CustomEvent) -> None:  # the library's thread: only enqueue
        if "stylecast_reply" in event.datain:
            replies.put(event.datain["stylecast_reply"])

    obs_client.register(on_custom, events.CustomEvent)
    wait_for_pixels(obs_client, live.name, live.expected("alpha"), SAME, 10.0)
    to_reply, to_pixels = [], []
    for n, style in enumerate(["gamma", "beta", "alpha"] * 2):
        t0 = time.perf_counter()
        call(obs_client, "BroadcastCustomEvent", eventData={
            "stylecast": {"type": "set_style", "style": style, "id": f"t-{n}"}})
        reply = replies.get(timeout=3.0)
        to_reply.append(time.perf_counter() - t0)
        assert reply["ok"] is True and reply["id"] == f"t-{n}" and reply["style"] == style
        to_pixels.append(wait_for_pixels(obs_client, live.name, live.expected(style), SAME,
                                         2.0, t0))
    report("obs-websocket custom event -> stylecast_reply", to_reply)
    report("obs-websocket custom event -> restyled pixels in GetSourceScreenshot", to_pixels)

    call(obs_client, "BroadcastCustomEvent", eventData={
        "stylecast": {"type": "set_style", "style": "nope", "id": 99}})
    reply = replies.get(timeout=3.0)
    assert (reply["ok"], reply["code"], reply["id"]) == (False, "style_not_found", 99)
    assert replies.empty()  # exactly one reply each: the bridge ignores its own replies


def test_obs_hotkeys_step_through_styles(start_live: Callable[..., Live], obs: ObsInstance,
                                         obs_client: obsws) -> None:
    live = start_live(shm_name=obs.hotkey_shm)
    wait_for_pixels(obs_client, live.name, live.expected("alpha"), SAME, 10.0)
    names = [h for h in call(obs_client, "GetHotkeyList")["hotkeys"] if "stylecast" in h]
    assert sorted(names) == ["stylecast_next_style", "stylecast_previous_style"]
    call(obs_client, "TriggerHotkeyByName", hotkeyName="stylecast_next_style")
    wait_until(lambda: live.controller.stats()["style"] == "beta", 2.0)
    wait_for_pixels(obs_client, live.name, live.expected("beta"), SAME, 2.0)
    call(obs_client, "TriggerHotkeyByName", hotkeyName="stylecast_previous_style")
    call(obs_client, "TriggerHotkeyByName", hotkeyName="stylecast_previous_style")
    wait_until(lambda: live.controller.stats()["style"] == "gamma", 2.0)


def test_source_shows_no_signal_after_stylecast_stops(start_live: Callable[..., Live],
                                                      obs_client: obsws) -> None:
    live = start_live()
    wait_for_pixels(obs_client, live.name, live.expected("alpha"), SAME, 10.0)
    live.pipeline.stop()
    wait_until(lambda: screenshot(obs_client, live.name)[..., 3].max() == 0, 3.0)


@pytest.mark.slow
def test_bridge_reconnects_after_obs_is_killed(start_live: Callable[..., Live],
                                               obs: ObsInstance, obs_client: obsws,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="stylecast.control.obs_bridge")
    caplog.set_level(logging.DEBUG, logger="obswebsocket")
    live = start_live()
    obs.kill()
    wait_until(lambda: not live.bridge.connected, 10.0)
    time.sleep(2.0)  # several failed attempts: none may log a line of its own
    obs.start()
    assert live.bridge.wait_connected(20)
    client = obs.client()
    try:
        inputs = {i["inputName"] for i in call(client, "GetInputList")["inputs"]}
        assert live.name in inputs
        wait_for_pixels(client, live.name, live.expected("alpha"), SAME, 10.0)
        call(client, "SetCurrentProgramScene", sceneName=SCENES[1])
        wait_until(lambda: live.controller.stats()["style"] == "beta", 2.0)
    finally:
        client.disconnect()
    bridge_lines = [r.getMessage() for r in caplog.records
                    if r.name == "stylecast.control.obs_bridge"]
    assert len([m for m in bridge_lines if "reach" in m or "lost" in m]) <= 3, bridge_lines
    text = caplog.text + repr(live.bridge)
    assert obs.password not in text and str(obs.port) not in text


def test_media_source_fallback_shows_the_stream(start_live: Callable[..., Live],
                                                obs_client: obsws) -> None:
    live = start_live(mode="stream")
    assert live.bridge.input_kind == MEDIA_KIND
    settings = call(obs_client, "GetInputSettings", inputName=live.name)["inputSettings"]
    assert settings["buffering_mb"] == 0 and settings["input_format"] == "nut"
    assert settings["is_local_file"] is False
    wait_for_pixels(obs_client, live.name, live.expected("alpha"), SAME_H264, 20.0, block=4)
    shot = screenshot(obs_client, live.name)
    assert mad(shot, live.expected("beta"), 4) > 2 * mad(shot, live.expected("alpha"), 4)
    # As a streamer would: the source is in every scene, so it stays on air (an async
    # source off air stops updating).
    for scene in SCENES[1:]:
        call(obs_client, "CreateSceneItem", sceneName=scene, sourceName=live.name)
    seconds = []
    for scene in [SCENES[1], SCENES[0]] * 2:
        t0 = time.perf_counter()
        call(obs_client, "SetCurrentProgramScene", sceneName=scene)
        seconds.append(wait_for_pixels(obs_client, live.name,
                                       live.expected(SCENE_STYLES[scene]), SAME_H264, 5.0,
                                       t0, block=4))
    report("OBS scene switch -> restyled pixels (media-source fallback)", seconds)
