"""The processing-size policy: at what (width, height) the network runs for a frame size.

An explicit ``--process-size`` wins; otherwise the stroke scale gives a size (the pack's
reference width over the scale), and a live run on a CPU runtime caps it at a size the CPU
keeps up with. Pure arithmetic, no heavy imports (the control schema reads the bounds).
"""

from __future__ import annotations

from stylecast.errors import ConfigError


def processing_size(
    output: tuple[int, int], requested: tuple[int, int] | None, multiple: int = 4
) -> tuple[int, int]:
    """The network's (width, height): ``requested`` or the output size, rounded down to
    ``multiple`` and never above the output size."""
    width, height = requested or output
    if width > output[0] or height > output[1]:
        raise ConfigError(f"--process-size {width}x{height} is larger than the output "
                          f"{output[0]}x{output[1]}; use a size at most the output size")
    width, height = width - width % multiple, height - height % multiple
    if width < 16 or height < 16:
        raise ConfigError(f"processing size {width}x{height} is too small (minimum 16x16)")
    return width, height


#: Largest network input, in pixels, that ``stylecast run`` picks on a CPU runtime when no
#: --process-size is given: 480x272 ran the lite network at 23 fps end to end for 720p
#: output on a 2-core machine, where the full 720p frame ran at 3.8 fps (docs/dev/BENCHMARKS.md).
CPU_LIVE_PIXELS = 480 * 272


def live_process_size(output: tuple[int, int], pixels: int = CPU_LIVE_PIXELS,
                      multiple: int = 4) -> tuple[int, int]:
    """``output`` (width, height) scaled down, keeping its shape, to at most ``pixels``
    pixels and rounded down to ``multiple``; ``output`` itself when it is small enough."""
    width, height = output
    if width * height <= pixels:
        return width, height
    scale = (pixels / (width * height)) ** 0.5
    return (max(16, int(width * scale) // multiple * multiple),
            max(16, int(height * scale) // multiple * multiple))


#: --stroke-scale bounds: 4x the painting's strokes is a handful of blobs per frame, 1/4 is
#: the network run at four times its training width (16x the pixels, slideshow on a CPU).
STROKE_SCALE_RANGE = (0.25, 4.0)


def stroke_process_size(output: tuple[int, int], reference_width: int,
                        stroke_scale: float) -> tuple[int, int]:
    """The (width, height) at which the network paints strokes ``stroke_scale`` times the
    painting's own size relative to the frame: the network was trained on photos and a
    painting both ``reference_width`` px wide, so a frame run at ``reference_width /
    stroke_scale`` gets the painting's proportions. Never above ``output``; the shape is
    kept. Widths are rounded to 16 px so a stroke slider compiles few distinct sizes."""
    check_stroke_scale(stroke_scale)
    width, height = output
    target = max(16, round(reference_width / stroke_scale / 16) * 16)
    if width <= target:
        return width, height
    return target, max(16, round(height * target / width))




def check_stroke_scale(value: float) -> float:
    """``value`` as a float, or ConfigError when it is outside ``STROKE_SCALE_RANGE``."""
    low, high = STROKE_SCALE_RANGE
    if not low <= value <= high:
        raise ConfigError(f"stroke scale must be within {low}..{high}, got {value}")
    return float(value)


def live_pixels(device_kind: str, requested: tuple[int, int] | None) -> int | None:
    """The cap on the network's input for a live run: ``CPU_LIVE_PIXELS`` on a CPU runtime
    when no processing size was asked for (a live speed rather than a slideshow at full
    resolution), else none. Renders are never capped."""
    if requested is not None or device_kind != "cpu":
        return None
    return CPU_LIVE_PIXELS


def network_size(output: tuple[int, int], *, requested: tuple[int, int] | None,
                 reference_width: int | None, stroke_scale: float,
                 live_pixels: int | None) -> tuple[int, int]:
    """The (width, height) the network runs at for frames of size ``output``: ``requested``
    (--process-size), else the stroke scale's size, capped at ``live_pixels``."""
    if requested is not None:
        return processing_size(output, requested)
    size = output
    if reference_width is not None:
        size = stroke_process_size(output, reference_width, stroke_scale)
    if live_pixels is not None and size[0] * size[1] > live_pixels:
        size = live_process_size(output, live_pixels)
    return processing_size(output, size)
