"""The control page against a REAL pipeline: click a style in Chromium, the output changes."""

from __future__ import annotations

import io
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylecast.capture import open_source
from stylecast.control.controller import LiveController
from stylecast.control.server import ControlServer
from stylecast.engine.mixer import StyleMixer
from stylecast.engine.stylizer import Stylizer
from stylecast.model.pack import load_pack
from stylecast.pipeline.threads import Pipeline
from stylecast.runtime.pytorch import TorchRuntime
from tests.control.test_control_page import CHROMIUM, Page
from tests.control.test_control_page import browser as browser  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")]


@pytest.fixture
def live(tiny_pack: Path) -> Iterator[tuple[ControlServer, Pipeline, Stylizer]]:
    pack = load_pack(tiny_pack)
    runtime = TorchRuntime(network=pack.load_network("lite"))
    runtime.open()
    stylizer = Stylizer(runtime, StyleMixer([s.name for s in pack.styles], {"alpha": 1.0}))
    # A still pattern, so each style gives one constant picture to compare with.
    pipeline = Pipeline(open_source("test:smpte", size=(160, 88), fps=15, live=True),
                        stylizer, [])
    pipeline.start()
    server = ControlServer(LiveController(pipeline, stylizer, pack), port=0,
                           stats_interval_s=0.2)
    server.start()
    try:
        yield server, pipeline, stylizer
    finally:
        server.stop()
        pipeline.stop()


def _preview(url: str) -> np.ndarray:
    with urllib.request.urlopen(f"{url}preview.jpg", timeout=5) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"), np.int16)


def test_clicking_a_style_changes_the_live_preview(
    live: tuple[ControlServer, Pipeline, Stylizer],
    browser: Callable[[str], Page],  # noqa: F811  (the imported fixture)
) -> None:
    server, pipeline, stylizer = live
    raw = next(iter(open_source("test:smpte", size=(160, 88), live=False).__enter__().frames()))
    eye = np.eye(3, dtype=np.float32)
    expected = {name: stylizer.render_style(raw.data, eye[i]).astype(np.int16)
                for i, name in enumerate(("alpha", "beta"))}
    page = browser(server.url)
    page.wait_for("document.querySelectorAll('.tile').length === 3")
    page.wait_for("!document.getElementById('preview').classList.contains('hidden')")
    before = _preview(server.url)
    assert np.abs(before - expected["alpha"]).mean() < np.abs(before - expected["beta"]).mean()

    page.eval("document.getElementById('fade').value = 0; "
              "document.querySelectorAll('.tile')[1].click()")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        after = _preview(server.url)
        if np.abs(after - expected["beta"]).mean() < np.abs(after - expected["alpha"]).mean():
            break
        time.sleep(0.1)
    else:
        pytest.fail("the preview never showed the clicked style")
    assert stylizer.mixer.dominant() == "beta"
    # The page's own preview image follows (it reloads preview.jpg a few times a second).
    page.wait_for("document.getElementById('preview').naturalWidth > 0")
    assert pipeline.stats.snapshot()["frames"] > 0
