"""RecordSink, ImageSequenceSink and open_file_output, checked by decoding with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from stylecast.capture import open_source
from stylecast.errors import SinkError
from stylecast.outputs.record import ImageSequenceSink, RecordSink, open_file_output
from stylecast.pipeline.frames import Frame

W, H = 64, 48
COLOUR = (200, 40, 90)


def flat(index: int, colour: tuple[int, int, int] = COLOUR, *, pts: int | None = None,
         time_base: Fraction | None = None, size: tuple[int, int] = (W, H)) -> Frame:
    data = np.empty((size[1], size[0], 3), np.uint8)
    data[:] = colour
    return Frame(data=data, index=index, pts=pts, time_base=time_base)


def decode(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_round_trip_keeps_count_size_timestamps_and_colour(tmp_path: Path,
                                                           suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    pts = [300, 340, 380, 400, 460, 500, 540, 580]  # ms, variable rate, starts at 0.3 s
    sink = RecordSink(path)
    sink.open(width=W, height=H, fps=Fraction(25))
    for i, p in enumerate(pts):
        sink.send(flat(i, pts=p, time_base=Fraction(1, 1000)))
    sink.close()
    frames = decode(path)
    assert len(frames) == len(pts)
    assert {(f.width, f.height) for f in frames} == {(W, H)}
    assert [round(float(f.pts * f.time_base), 3) for f in frames] == [p / 1000 for p in pts]
    centre = frames[3].to_ndarray(format="rgb24")[H // 2, W // 2].astype(int)
    assert np.abs(centre - COLOUR).max() <= 6


def test_frames_without_timestamps_get_a_constant_rate(tmp_path: Path) -> None:
    path = tmp_path / "cfr.mp4"
    sink = RecordSink(path)
    sink.open(width=W, height=H, fps=Fraction(30))
    for i in range(6):
        sink.send(flat(i))
    sink.close()
    times = [float(f.pts * f.time_base) for f in decode(path)]
    assert times == pytest.approx([i / 30 for i in range(6)], abs=1e-3)


def test_timestamps_running_backwards_still_make_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "restart.mkv"
    sink = RecordSink(path)
    sink.open(width=W, height=H, fps=Fraction(25))
    for i, p in enumerate([0, 40, 80, 0, 40]):  # a source that restarted its clock
        sink.send(flat(i, pts=p, time_base=Fraction(1, 1000)))
    sink.close()
    times = [float(f.pts * f.time_base) for f in decode(path)]
    assert len(times) == 5 and times == sorted(set(times))


def test_file_is_playable_when_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "ctrl_c.mp4"
    sink = RecordSink(path)
    sink.open(width=W, height=H, fps=Fraction(30))
    with pytest.raises(KeyboardInterrupt):
        try:
            for i in range(100):
                sink.send(flat(i))
                if i == 4:
                    raise KeyboardInterrupt
        finally:
            sink.close()
    assert len(decode(path)) == 5


def test_close_is_idempotent_and_send_after_close_fails(tmp_path: Path) -> None:
    sink = RecordSink(tmp_path / "x.mkv")
    sink.open(width=W, height=H, fps=Fraction(30))
    sink.send(flat(0))
    sink.close()
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink.send(flat(1))


def test_unknown_container_says_which_to_use(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"unknown container '\.xyz'.*\.mp4"):
        RecordSink(tmp_path / "out.xyz").open(width=W, height=H, fps=Fraction(30))


def test_odd_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="even"):
        RecordSink(tmp_path / "o.mp4").open(width=65, height=48, fps=Fraction(30))


def test_wrong_frame_size_is_a_sink_error(tmp_path: Path) -> None:
    sink = RecordSink(tmp_path / "s.mp4")
    sink.open(width=W, height=H, fps=Fraction(30))
    with pytest.raises(SinkError, match="opened for 64x48 but got a 32x24 frame"):
        sink.send(flat(0, size=(32, 24)))
    sink.close()


def test_image_sequence_is_numbered_by_index_and_reads_back(tmp_path: Path) -> None:
    pattern = str(tmp_path / "out" / "%05d.png")  # the folder does not exist yet
    rng = np.random.default_rng(3)
    sent = [Frame(data=rng.integers(0, 256, (H, W, 3), np.uint8), index=i)
            for i in range(10, 14)]
    sink = ImageSequenceSink(pattern)
    sink.open(width=W, height=H, fps=Fraction(30))
    for frame in sent:
        sink.send(frame)
    sink.close()
    sink.close()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "00010.png", "00011.png", "00012.png", "00013.png"]
    back = []
    with open_source(pattern) as source:
        back = list(source.frames())
    assert len(back) == 4
    for got, want in zip(back, sent, strict=True):
        np.testing.assert_array_equal(got.data, want.data)  # png is lossless


def test_image_sequence_rejects_non_patterns_and_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="%d"):
        ImageSequenceSink(tmp_path / "plain.png")
    with pytest.raises(SinkError, match=r"\.png"):
        ImageSequenceSink(tmp_path / "%03d.nope").open(width=W, height=H, fps=Fraction(30))


def test_open_file_output_picks_the_sink(tmp_path: Path) -> None:
    assert isinstance(open_file_output(tmp_path / "a.mp4"), RecordSink)
    assert isinstance(open_file_output(str(tmp_path / "%04d.jpg")), ImageSequenceSink)
