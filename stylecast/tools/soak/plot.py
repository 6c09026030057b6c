"""The soak's samples as one PNG a person reads at a glance (Pillow only, no plotting
library): RSS, Python heap, latency, threads and open descriptors over time, one panel
each on a shared time axis, the warm-up shaded and the fitted line that the verdict
judges drawn through the memory panels."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from stylecast.tools.soak.verdict import Sample, SoakReport, fit_line

WIDTH, PANEL_H, TOP, LEFT, RIGHT, GAP = 1100, 190, 70, 90, 30, 46
INK, GRID, SHADE, FIT = (30, 30, 30), (225, 225, 225), (240, 240, 232), (200, 60, 60)
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189))


@dataclass(frozen=True)
class Series:
    """One line: its label, colour and a value per sample (None where it has none)."""

    label: str
    value: Callable[[Sample], float | None]
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Panel:
    """One chart: title, unit, its lines, and whether to draw the steady part's trend."""

    title: str
    unit: str
    series: Sequence[Series]
    trend: bool = False


def panels(report: SoakReport) -> list[Panel]:
    """The charts for ``report``: memory first, then latency, then counts."""
    out = [Panel("RSS", "MB", [Series("RSS", lambda s: s.rss_mb, COLOURS[0])], trend=True)]
    if any(s.heap_mb is not None for s in report.samples):
        out.append(Panel("Python heap (tracemalloc)", "MB",
                         [Series("heap", lambda s: s.heap_mb, COLOURS[1])], trend=True))
    if any(s.c_heap_mb is not None for s in report.samples):
        out.append(Panel("C heap (glibc): in use, and kept free", "MB",
                         [Series("in use", lambda s: s.c_heap_mb, COLOURS[2]),
                          Series("kept free", lambda s: s.c_free_mb, COLOURS[3])]))
    out.append(Panel("Latency, capture to output", "ms",
                     [Series("p50", lambda s: s.p50_ms, COLOURS[2]),
                      Series("p95", lambda s: s.p95_ms, COLOURS[3])]))
    out.append(Panel("Threads and open file descriptors", "",
                     [Series("threads", lambda s: float(s.threads), COLOURS[0]),
                      Series("fds", lambda s: float(s.fds), COLOURS[1])]))
    return out


def write_plot(report: SoakReport, path: str | Path) -> None:
    """Draw ``report``'s samples into a PNG at ``path``."""
    charts = panels(report)
    height = TOP + len(charts) * (PANEL_H + GAP) + 20
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    big, small = ImageFont.load_default(size=17), ImageFont.load_default(size=12)
    verdict = "PASSED" if report.ok else "FAILED"
    draw.text((LEFT, 12), f"stylecast soak {verdict}: {report.options.minutes:g} min, "
              f"{len(report.samples)} samples", fill=INK, font=big)
    failed = [c.name for c in report.checks if not c.ok]
    setup = ", ".join(f"{v}" for k, v in report.setup.items() if k in ("size", "runtime"))
    draw.text((LEFT, 38), (f"failed: {', '.join(failed)}   " if failed else "") + setup,
              fill=(180, 30, 30) if failed else (90, 90, 90), font=small)
    t_end = max((s.t_s for s in report.samples), default=1.0) or 1.0
    for index, chart in enumerate(charts):
        box = (LEFT, TOP + index * (PANEL_H + GAP), WIDTH - RIGHT,
               TOP + index * (PANEL_H + GAP) + PANEL_H)
        _panel(draw, box, chart, report, t_end, small, last=index == len(charts) - 1)
    image.save(path, format="PNG", optimize=True)


def _panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], chart: Panel,
           report: SoakReport, t_end: float, font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
           *, last: bool) -> None:
    x0, y0, x1, y1 = box
    values = [v for series in chart.series for s in report.samples
              if (v := series.value(s)) is not None]
    low, high = _range(values)

    def xy(t: float, v: float) -> tuple[float, float]:
        return (x0 + (x1 - x0) * t / t_end, y1 - (y1 - y0) * (v - low) / (high - low))

    warm = min(report.options.warmup_s, t_end)
    draw.rectangle((x0, y0, xy(warm, low)[0], y1), fill=SHADE)
    for tick in _ticks(low, high):
        y = xy(0, tick)[1]
        draw.line((x0, y, x1, y), fill=GRID)
        draw.text((x0 - 8, y), f"{tick:g}", fill=INK, font=font, anchor="rm")
    for minute in _ticks(0, t_end / 60):
        x = xy(minute * 60, low)[0]
        draw.line((x, y0, x, y1), fill=GRID)
        if last:
            draw.text((x, y1 + 6), f"{minute:g}", fill=INK, font=font, anchor="mt")
    draw.rectangle(box, outline=INK)
    unit = f" ({chart.unit})" if chart.unit else ""
    draw.text((x0, y0 - 18), chart.title + unit, fill=INK, font=font)
    legend_x = x1
    for series in reversed(chart.series):
        points = [xy(s.t_s, v) for s in report.samples if (v := series.value(s)) is not None]
        if len(points) >= 2:
            draw.line(points, fill=series.colour, width=2)
        legend_x -= 10 + int(draw.textlength(series.label, font=font))
        draw.text((legend_x, y0 - 18), series.label, fill=series.colour, font=font)
    if chart.trend:
        _trend(draw, chart.series[0], report, xy, font, (x0, y0))
    if last:
        draw.text(((x0 + x1) / 2, y1 + 24), "minutes (shaded: warm-up, not judged)",
                  fill=INK, font=font, anchor="mt")


def _trend(draw: ImageDraw.ImageDraw, series: Series, report: SoakReport,
           xy: Callable[[float, float], tuple[float, float]],
           font: ImageFont.ImageFont | ImageFont.FreeTypeFont, origin: tuple[int, int]) -> None:
    """The least-squares line through the steady samples, as the verdict fits it."""
    steady = [(s.t_s, v) for s in report.samples
              if s.t_s >= report.options.warmup_s and (v := series.value(s)) is not None]
    if len(steady) < 2:
        return
    slope, intercept = fit_line(steady)
    t0, t1 = steady[0][0], steady[-1][0]
    draw.line((xy(t0, intercept + slope * t0), xy(t1, intercept + slope * t1)), fill=FIT,
              width=2)
    draw.text((origin[0] + 220, origin[1] - 18), f"trend after warm-up {slope * 60:+.2f}/min",
              fill=FIT, font=font)


def _range(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = max((high - low) * 0.1, abs(high) * 0.02, 1.0)
    return max(0.0, low - pad) if low >= 0 else low - pad, high + pad


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round numbers between ``low`` and ``high``, about ``count`` of them."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if step * m >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]
