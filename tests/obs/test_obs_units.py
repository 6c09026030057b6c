"""The OBS pieces that need no OBS: the shared-memory sink, config loading, the bridge's
secrecy and shutdown, and the hotkey commands. Not marked ``obs``: they run everywhere."""

from __future__ import annotations

import logging
import mmap
import os
import struct
import time
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stylecast.capture import open_source
from stylecast.config import ObsConfig, load_config
from stylecast.control.controller import LiveController
from stylecast.control.obs_bridge import ObsBridge, command_handler
from stylecast.engine.build import EngineOptions, build_stylizer
from stylecast.errors import ConfigError, SinkError
from stylecast.outputs import shm
from stylecast.outputs.shm import SharedMemorySink
from stylecast.pipeline.frames import Frame
from tests.fakes import free_port

pytestmark = pytest.mark.skipif(not os.path.isdir(shm.SHM_DIR), reason="needs /dev/shm")


def frame(width: int, height: int, value: int, index: int = 0) -> Frame:
    return Frame(np.full((height, width, 3), value, np.uint8), index)


class Reader:
    """Reads a segment the way obs/stylecast_source.lua does."""

    def __init__(self, path: str) -> None:
        with open(path, "r+b") as f:
            self.map = mmap.mmap(f.fileno(), 0)

    def header(self) -> tuple:
        return struct.unpack_from("<4sIIIIIIIIIQQI", self.map, 0)

    def newest(self) -> np.ndarray:
        _, _, hb, _, width, height, stride, _, _, _, nbytes, _, front = self.header()
        seq = struct.unpack_from("<Q", self.map, shm.BUFFER_META + front * shm.META_STRIDE)[0]
        assert seq % 2 == 0
        start = hb + front * nbytes
        return np.frombuffer(self.map[start:start + nbytes], np.uint8).reshape(height, width, 4)

    def command(self, text: str) -> None:
        seq = struct.unpack_from("<I", self.map, shm.CMD_SEQ)[0] + 1
        slot = shm.CMD_BASE + ((seq - 1) % shm.CMD_SLOTS) * shm.CMD_SLOT_BYTES
        struct.pack_into("<H", self.map, slot, len(text))
        self.map[slot + 2:slot + 2 + len(text)] = text.encode()
        struct.pack_into("<I", self.map, shm.CMD_SEQ, seq)


class RecordingSink(SharedMemorySink):
    """A sink that keeps the commands OBS sent it."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        super().__init__(f"unit{uuid.uuid4().hex[:8]}", on_command=self.commands.append)


@pytest.fixture
def sink() -> Iterator[RecordingSink]:
    sink = RecordingSink()
    yield sink
    sink.close()


def test_sink_publishes_rgba_frames_double_buffered(sink: RecordingSink) -> None:
    sink.open(width=32, height=16, fps=Fraction(30))
    sink.send(frame(32, 16, 7))
    reader = Reader(sink.path)
    head = reader.header()
    assert head[:10] == (b"SCST", 1, 4096, shm.STATE_LIVE, 32, 16, 128, shm.FORMAT_RGBA8, 2,
                         os.getpid())
    assert (reader.newest()[..., :3] == 7).all() and (reader.newest()[..., 3] == 255).all()
    first_front = head[12]
    sink.send(frame(32, 16, 9, 1))
    assert reader.header()[11:13] == (2, 1 - first_front)
    assert (reader.newest()[..., :3] == 9).all()
    reader.map.close()


def test_resize_moves_readers_to_a_new_segment(sink: RecordingSink) -> None:
    sink.open(width=32, height=16, fps=Fraction(30))
    sink.send(frame(32, 16, 7))
    old = Reader(sink.path)
    sink.send(frame(16, 8, 5))
    assert old.header()[3] == shm.STATE_MOVED  # the old map stays valid, marked moved
    new = Reader(sink.path)
    assert new.header()[4:6] == (16, 8) and (new.newest()[..., :3] == 5).all()
    old.map.close()
    new.map.close()


def test_commands_from_obs_reach_the_callback_once(sink: RecordingSink) -> None:
    sink.open(width=16, height=16, fps=Fraction(30))
    reader = Reader(sink.path)
    reader.command("next_style")
    reader.command("previous_style")
    sink.send(frame(16, 16, 1))
    sink.send(frame(16, 16, 2))
    assert sink.commands == ["next_style", "previous_style"]
    for _ in range(shm.CMD_SLOTS + 3):  # a burst longer than the ring keeps the newest
        reader.command("next_style")
    sink.send(frame(16, 16, 3))
    assert len(sink.commands) == 2 + shm.CMD_SLOTS
    assert struct.unpack_from("<I", reader.map, shm.CMD_ACK)[0] == 2 + shm.CMD_SLOTS + 3
    reader.map.close()


def test_close_marks_closed_unlinks_and_is_idempotent(sink: RecordingSink) -> None:
    sink.open(width=16, height=16, fps=Fraction(30))
    reader = Reader(sink.path)
    sink.close()
    sink.close()
    assert reader.header()[3] == shm.STATE_CLOSED and not os.path.exists(sink.path)
    reader.map.close()
    with pytest.raises(SinkError, match="already opened or closed"):
        sink.open(width=16, height=16, fps=Fraction(30))


def test_a_live_publisher_is_not_replaced_but_a_stale_one_is(sink: RecordingSink) -> None:
    header = struct.pack("<4sIIIIIIIII", b"SCST", 1, 4096, shm.STATE_LIVE, 16, 16, 64, 1, 2,
                         os.getppid())
    Path(sink.path).write_bytes(header)
    with pytest.raises(SinkError, match=f"pid {os.getppid()}"):
        sink.open(width=16, height=16, fps=Fraction(30))
    Path(sink.path).write_bytes(header[:12] + struct.pack("<I", shm.STATE_CLOSED) + header[16:])
    sink.open(width=16, height=16, fps=Fraction(30))
    assert Reader(sink.path).header()[9] == os.getpid()


def test_invalid_segment_names_are_refused() -> None:
    with pytest.raises(SinkError, match="invalid"):
        SharedMemorySink("../etc")


def test_config_layers_defaults_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "stylecast.toml"
    path.write_text('[obs]\nport = 4460\nscene = "Live"\npassword = "from-file"\n'
                    '[obs.scene_styles]\n"Just Chatting" = "beta"\n')
    cfg = load_config(path, env={"STYLECAST_OBS_PASSWORD": "s3cret-pw",
                                 "STYLECAST_OBS_HOST": "10.0.0.5"}).obs
    assert (cfg.host, cfg.port, cfg.scene, cfg.password) == ("10.0.0.5", 4460, "Live",
                                                            "s3cret-pw")
    assert dict(cfg.scene_styles) == {"Just Chatting": "beta"}
    assert "s3cret-pw" not in repr(cfg)
    assert load_config(None, env={}).obs == ObsConfig()


@pytest.mark.parametrize("text, match", [
    ("[obs]\nprot = 1\n", "unknown key"),
    ("[obs]\nport = \"x\"\n", "port must be an integer"),
    ("[obs]\nmode = \"udp\"\n", "mode must be one of"),
    ("[obs.scene_styles]\nA = 3\n", "style name"),
    ("[obs\n", "not valid TOML"),
])
def test_config_errors_say_what_to_fix(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path, env={})


def test_config_file_named_but_missing_and_bad_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="STYLECAST_OBS_PORT") as info:
        load_config(None, env={"STYLECAST_OBS_PORT": "hunter2"})
    assert "hunter2" not in str(info.value)


class _Target:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def next_style(self) -> dict:
        self.calls.append("next")
        return {}

    def previous_style(self) -> dict:
        self.calls.append("previous")
        return {}


def test_command_handler_runs_known_commands_only(caplog: pytest.LogCaptureFixture) -> None:
    target = _Target()
    run = command_handler(target)
    run("next_style")
    run("previous_style")
    run("rm -rf")
    assert target.calls == ["next", "previous"]
    assert "unknown command" in caplog.text


def test_bridge_without_obs_stops_promptly_logs_once_and_hides_secrets(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    bridge = ObsBridge(_Target(), host="127.0.0.1", port=port,  # type: ignore[arg-type]  # a fake target
                       password="pw-do-not-echo", timeout_s=0.5)
    bridge.start()
    bridge.start()
    time.sleep(2.0)  # a few attempts with backoff
    t0 = time.monotonic()
    bridge.stop()
    bridge.stop()
    assert time.monotonic() - t0 < 1.0
    assert not bridge.connected
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("stylecast")]
    assert len([m for m in lines if "not reachable" in m]) == 1, lines
    text = caplog.text + repr(bridge)
    assert "pw-do-not-echo" not in text and str(port) not in text


def test_bridge_checks_its_mode() -> None:
    with pytest.raises(ConfigError, match="tcp://"):
        ObsBridge(_Target(), mode="stream")  # type: ignore[arg-type]  # a fake target, an invalid mode on purpose
    with pytest.raises(ConfigError, match="mode"):
        ObsBridge(_Target(), mode="ndi")  # type: ignore[arg-type]  # a fake target, an invalid mode on purpose


def test_controller_steps_through_styles_with_wraparound(styles_env: Path) -> None:
    from stylecast.pipeline.threads import Pipeline

    stylizer, pack = build_stylizer("alpha", EngineOptions(runtime="torch", threads=1))
    source = open_source("test", size=(64, 48), fps=30, live=True)
    controller = LiveController(Pipeline(source, stylizer, []), stylizer, pack)
    assert controller.next_style()["style"] == "beta"
    assert controller.previous_style()["style"] == "alpha"
    assert controller.previous_style()["style"] == "gamma"
    assert controller.next_style()["style"] == "alpha"
