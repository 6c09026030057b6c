"""The public API at the package root, as the README uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import pytest

import stylecast


@pytest.mark.usefixtures("styles_env")
def test_the_readme_example_paints_a_file(tmp_path: Path) -> None:
    from stylecast import Pipeline, build_stylizer, open_output, open_source

    out = tmp_path / "out.mp4"
    stylizer, pack = build_stylizer()
    source = open_source("test", size=(64, 48), live=False)
    pipeline = Pipeline(source, stylizer, [open_output(out)], max_frames=5)
    pipeline.start()
    pipeline.wait()
    pipeline.stop()
    assert pipeline.error is None
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 5
    other = pack.styles[-1].name
    stylizer.mixer.set({other: 1.0}, transition_ms=500)


def test_importing_the_package_loads_no_media_stack() -> None:
    code = ("import sys, stylecast\n"
            "print(sorted(m for m in ('av', 'cv2', 'openvino', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
    assert set(stylecast.__all__) >= {"Pipeline", "open_source", "open_output",
                                      "build_stylizer", "EngineOptions"}
    with pytest.raises(AttributeError):
        stylecast.no_such_name  # noqa: B018
