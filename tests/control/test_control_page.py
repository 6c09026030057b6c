"""The web control page in headless Chromium, driven over the DevTools protocol.

Skipped where no Chromium is installed (``apt-get install chromium`` on Debian).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from stylecast.control.server import ControlServer

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                 "google-chrome"))), None)
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")]


class Page:
    """A page in a headless Chromium: evaluate JavaScript, collect console errors."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.errors: list[str] = []
        self._ids = itertools.count(1)
        self.call("Runtime.enable")
        self.call("Log.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=10))
            if message.get("id") == call_id:
                return dict(message.get("result", {}))
            self._note(message)

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll until ``expression`` is truthy; errors count as not yet (page loading)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = self.eval(expression)
            except AssertionError as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}; last: {last}")

    def _note(self, message: dict[str, Any]) -> None:
        params = message.get("params", {})
        if message.get("method") == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params.get("exceptionDetails"))[:300])
        elif message.get("method") == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(params["entry"].get("text", "")[:300])


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[[str], Page]]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sockets = contextlib.ExitStack()
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 15
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("Chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])

        def open_page(url: str) -> Page:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                tab = next(t for t in json.load(r) if t["type"] == "page")
            ws = sockets.enter_context(
                connect(tab["webSocketDebuggerUrl"], open_timeout=5, max_size=None))
            page = Page(ws)
            page.call("Page.navigate", url=url)
            return page

        yield open_page
    finally:
        sockets.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def eventually(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll a Python-side condition; generous because CI machines are busy."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


ACTIVE_TITLE = "document.querySelector('.tile.active span')?.textContent"


def test_page_drives_the_pipeline(make_server: Callable[..., ControlServer], target: Any,
                                  browser: Callable[[str], Page]) -> None:
    target.preview = target.frame  # a 2x2 PNG: browsers sniff image bytes, not the type
    server = make_server(token="page-test-token", stats_interval_s=0.2)
    page = browser(f"{server.url}?token=page-test-token")

    page.wait_for("document.getElementById('conn').classList.contains('up') && "
                  "document.querySelectorAll('.tile').length === 3")
    page.wait_for(f"{ACTIVE_TITLE} === 'The Starry Night'")
    page.wait_for("document.getElementById('s-fps').textContent === '29.5'")
    page.wait_for("!document.getElementById('preview').classList.contains('hidden')")
    assert page.eval("document.getElementById('preview').naturalWidth") == 2

    page.eval("document.getElementById('fade').value = 1200; "
              "document.querySelectorAll('.tile')[2].click()")
    page.wait_for(f"{ACTIVE_TITLE} === 'The Scream'")
    assert ("set_style", ("scream", 1200.0)) in target.calls

    page.eval("{ const s = document.getElementById('strength'); s.value = 0.4; "
              "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }")
    assert eventually(lambda: ("set_strength", (0.4,)) in target.calls)
    page.wait_for("document.getElementById('strength-out').textContent === '40 %'")

    page.eval("document.getElementById('pause').click()")
    page.wait_for("document.getElementById('pause').textContent === 'Resume'")
    assert target.count("pause") == 1
    page.eval("document.getElementById('temporal').click()")
    assert eventually(lambda: ("set_temporal", (False,)) in target.calls)

    page.eval("1")  # collect late console messages
    assert page.errors == [], page.errors
