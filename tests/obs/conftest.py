"""Fixtures for tests against a real, headless OBS Studio (``-m obs``).

Without ``obs`` or ``Xvfb`` these tests skip, unless ``CI`` is set: CI installs both, so
there a missing OBS is a broken setup and the tests fail loudly instead.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from obswebsocket import obsws, requests
from websocket import WebSocketException

from stylecast.capture import open_source
from stylecast.control.controller import LiveController
from stylecast.control.obs_bridge import ObsBridge, command_handler
from stylecast.engine.build import EngineOptions, build_stylizer
from stylecast.engine.stylizer import Stylizer
from stylecast.outputs.base import Sink
from stylecast.outputs.shm import SharedMemorySink
from stylecast.outputs.stream import StreamSink
from stylecast.pipeline.threads import Pipeline
from tests.conftest import STYLE_NAMES
from tests.obs.harness import SCENES, ObsInstance, call, have_obs, start_xvfb

SIZE = (320, 180)
INPUT = "test:smpte"  # a still pattern: consecutive frames differ only by style
SCENE_STYLES = dict(zip(SCENES, STYLE_NAMES, strict=True))  # A->alpha, B->beta, C->gamma


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    if not have_obs():
        reason = "OBS Studio and Xvfb are needed (apt-get install obs-studio xvfb)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"CI is set but {reason}: .ci/run installs them; fix the CI image",
                        pytrace=False)
        pytest.skip(reason)
    proc, display = start_xvfb()
    yield display
    proc.kill()
    proc.wait(5)


@pytest.fixture(scope="session")
def obs(xvfb_display: str) -> Iterator[ObsInstance]:
    """One OBS for the session; a test that kills it must start it again."""
    with tempfile.TemporaryDirectory(prefix="stylecast-obs-") as root:
        instance = ObsInstance(Path(root), xvfb_display, hotkey_shm=f"sctest{os.getpid()}")
        instance.start()
        yield instance
        instance.kill()


@pytest.fixture
def obs_client(obs: ObsInstance) -> Iterator[obsws]:
    """A second obs-websocket client (the test's own), on Scene A."""
    client = obs.client()
    call(client, "SetCurrentProgramScene", sceneName=SCENES[0])
    yield client
    try:
        client.disconnect()
    except (OSError, AttributeError, WebSocketException):
        pass  # OBS was killed under this client


@dataclass
class Live:
    """A running stylecast pipeline, its controller and its OBS bridge."""

    pipeline: Pipeline
    controller: LiveController
    stylizer: Stylizer
    bridge: ObsBridge
    name: str
    references: dict[str, np.ndarray] = field(default_factory=dict)

    def expected(self, style: str) -> np.ndarray:
        return self.references[style]


def _still() -> np.ndarray:
    source = open_source(INPUT, size=SIZE, fps=30, live=False)
    source.open()
    try:
        return next(iter(source.frames())).data
    finally:
        source.close()


def _references(stylizer: Stylizer) -> dict[str, np.ndarray]:
    """Each style's rendering of the still, exactly as the pipeline renders it."""
    still = _still()
    refs = {}
    for i, style in enumerate(stylizer.mixer.names):
        vector = np.zeros(len(stylizer.mixer.names), np.float32)
        vector[i] = 1.0
        refs[style] = stylizer.render_style(still, vector)
    return refs


@pytest.fixture
def start_live(styles_env: Path, obs: ObsInstance, obs_client: obsws
               ) -> Iterator[Callable[..., Live]]:
    """Start stylecast in-process (tiny pack, torch, 320x180) with an ObsBridge."""
    started: list[Live] = []

    def start(mode: str = "shm", shm_name: str | None = None, **bridge_args: Any) -> Live:
        name = f"sc{uuid.uuid4().hex[:8]}"
        stylizer, pack = build_stylizer("alpha", EngineOptions(runtime="torch", threads=1))
        shm = SharedMemorySink(shm_name or name)
        sinks: list[Sink] = [shm]
        stream = None
        if mode == "stream":
            stream = StreamSink("tcp://127.0.0.1:0")
            sinks = [stream]
        source = open_source(INPUT, size=SIZE, fps=30, live=True)
        pipeline = Pipeline(source, stylizer, sinks, live=True)
        controller = LiveController(pipeline, stylizer, pack)
        shm.on_command = command_handler(controller)
        pipeline.start()
        bridge = ObsBridge(controller, host="127.0.0.1", port=obs.port,
                           password=obs.password, scene=SCENES[0], source_name=name,
                           mode=mode, shm_name=shm.segment_name,
                           stream_url=stream.url if stream else None,
                           scene_styles=SCENE_STYLES, **bridge_args)
        live = Live(pipeline, controller, stylizer, bridge, name, _references(stylizer))
        started.append(live)
        bridge.start()
        assert bridge.wait_connected(15), "the bridge did not connect to OBS"
        return live

    yield start
    for live in started:
        live.bridge.stop()
        live.pipeline.stop()
        if obs.proc is None:  # a test killed OBS and did not bring it back
            continue
        client = obs.client()
        call(client, "SetCurrentProgramScene", sceneName=SCENES[0])
        client.call(requests.RemoveInput(inputName=live.name))
        client.disconnect()

