"""A real, headless OBS Studio for tests: Xvfb, throw-away config, websocket with a password.

Follows docs/obs.md and the project's measured notes: OBS is configured by files only in
a throw-away HOME, exits 0 without a display (so readiness is the websocket port, never
the exit code), and loads obs/stylecast_source.lua through the scene collection.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
from obswebsocket import obsws, requests
from PIL import Image

from tests.fakes import free_port

REPO = Path(__file__).resolve().parents[2]
LUA_SCRIPT = REPO / "obs" / "stylecast_source.lua"
SCENES = ("Scene A", "Scene B", "Scene C")
WIDTH, HEIGHT = 640, 360
READY_S = 20.0


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a free display (-displayfd), returned with its DISPLAY value."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp",
                             "-screen", "0", "1280x720x24"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    deadline = time.monotonic() + 10
    number = b""
    with os.fdopen(read, "rb") as pipe:
        while time.monotonic() < deadline and not number.endswith(b"\n"):
            chunk = pipe.read(1)
            if not chunk:
                break
            number += chunk
    if not number.strip():
        proc.kill()
        raise RuntimeError("Xvfb did not report a display number")
    return proc, f":{number.decode().strip()}"


def _collection(scenes: tuple[str, ...], hotkey_shm: str) -> dict:
    sources = [{"id": "scene", "versioned_id": "scene", "name": name, "enabled": True,
                "settings": {"id_counter": 0, "custom_size": False, "items": []}}
               for name in scenes]
    return {
        "name": "stylecast-test", "current_scene": scenes[0],
        "current_program_scene": scenes[0],
        "scene_order": [{"name": name} for name in scenes], "sources": sources,
        "groups": [], "transitions": [], "current_transition": "Cut",
        "transition_duration": 0, "quick_transitions": [],
        "modules": {"scripts-tool": [{"path": str(LUA_SCRIPT),
                                        "settings": {"shm_name": hotkey_shm}}]},
    }


class ObsInstance:
    """One OBS process under one Xvfb, restartable with the same configuration."""

    def __init__(self, root: Path, display: str, hotkey_shm: str) -> None:
        self.root = root
        self.hotkey_shm = hotkey_shm
        self.display = display
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "obs.log"
        self._write_config()

    def _write_config(self) -> None:
        cfg = self.root / "home" / ".config" / "obs-studio"
        profile = cfg / "basic" / "profiles" / "stylecast"
        scenes = cfg / "basic" / "scenes"
        ws = cfg / "plugin_config" / "obs-websocket"
        for path in (profile, scenes, ws, self.root / "runtime"):
            path.mkdir(parents=True, exist_ok=True)
        (self.root / "runtime").chmod(0o700)
        (cfg / "global.ini").write_text(
            "[General]\nFirstRun=true\nConfirmOnExit=false\nEnableAutoUpdates=false\n"
            "[Basic]\nProfile=stylecast\nProfileDir=stylecast\n"
            "SceneCollection=stylecast-test\nSceneCollectionFile=stylecast-test\n"
            "[BasicWindow]\nPreviewEnabled=false\n"
            f"[OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\nServerPort={self.port}\n"
            f"AlertsEnabled=false\nAuthRequired=true\nServerPassword={self.password}\n")
        (profile / "basic.ini").write_text(
            "[General]\nName=stylecast\n[Video]\n"
            f"BaseCX={WIDTH}\nBaseCY={HEIGHT}\nOutputCX={WIDTH}\nOutputCY={HEIGHT}\n"
            "FPSType=0\nFPSCommon=30\n")
        collection = _collection(SCENES, self.hotkey_shm)
        (scenes / "stylecast-test.json").write_text(json.dumps(collection))
        (ws / "config.json").write_text(json.dumps({
            "server_enabled": True, "server_port": self.port, "auth_required": True,
            "server_password": self.password, "alerts_enabled": False,
            "first_load": False}))

    @property
    def env(self) -> dict[str, str]:
        home = self.root / "home"
        return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_RUNTIME_DIR": str(self.root / "runtime"), "DISPLAY": self.display,
                "LIBGL_ALWAYS_SOFTWARE": "1"}

    def start(self) -> None:
        """Start OBS and return once its websocket accepts connections."""
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["obs", "--multi", "--collection", "stylecast-test", "--profile", "stylecast",
             "--scene", SCENES[0], "--disable-missing-files-check",
             "--websocket_port", str(self.port), "--websocket_password", self.password],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if port_open(self.port):
                return
            time.sleep(0.05)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        self.kill()
        raise RuntimeError(f"OBS did not open its websocket within {READY_S} s:\n{tail}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop OBS (SIGKILL by default: the bridge must survive a crash)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        while port_open(self.port):
            time.sleep(0.05)

    def client(self, timeout: float = 5.0) -> obsws:
        client = obsws("127.0.0.1", self.port, self.password, legacy=False, timeout=timeout)
        client.connect()
        return client

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def call(client: obsws, name: str, **data: object) -> dict:
    """Make an obs-websocket request and fail loudly unless it succeeded."""
    response = client.call(getattr(requests, name)(**data))
    if not response.status:
        raise AssertionError(f"{name} failed: {response.datain}")
    return dict(response.datain)


def screenshot(client: obsws, source: str) -> np.ndarray:
    """The source rendered by OBS at its own size, (H, W, 4) uint8 RGBA."""
    data = call(client, "GetSourceScreenshot", sourceName=source, imageFormat="png")
    encoded = data["imageData"].split(",", 1)[1]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))).convert("RGBA"))


def have_obs() -> bool:
    return shutil.which("obs") is not None and shutil.which("Xvfb") is not None
