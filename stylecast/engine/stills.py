"""Painting still pictures: one photo to one picture, a folder of photos to a folder.

Photos are not frames of one video, so they skip the video pipeline: each is read on its
own (EXIF orientation applied), painted at its own size without the temporal cache (which
would carry one photo's strokes into the next), and written in the format its output name
says. A folder keeps its file names: ``photos/a.jpg`` -> ``painted/a.jpg``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from stylecast.capture.stills import list_images, read_image
from stylecast.errors import CaptureError, ConfigError, SinkError
from stylecast.outputs.images import check_image_name, is_image_path, prepare_folder, write_image
from stylecast.pipeline.frames import is_sequence_pattern

if TYPE_CHECKING:
    from stylecast.engine.stylizer import Stylizer

log = logging.getLogger(__name__)

# Names that say "a video" rather than "a folder" when a folder of photos is the input.
_VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".m4v", ".avi", ".webm"})


@dataclass(frozen=True, slots=True)
class StillJob:
    """One picture to paint: where it is read from and where the painting goes."""

    source: Path
    target: Path


def stills_source(spec: str) -> Path | None:
    """The picture or folder ``render``'s INPUT names, or None for a video, a sequence
    pattern or a source kind (``test`` stays the test pattern even beside a test/ folder)."""
    from stylecast.capture.factory import resolve_spec

    kind, target = resolve_spec(spec)
    if kind != "file":
        return None
    path = Path(target).expanduser()
    return path if path.is_dir() or is_image_path(path) else None


def plan_stills(source: Path, output: str) -> list[StillJob]:
    """The pictures to paint for ``render INPUT -o OUTPUT`` (``source`` from stills_source).

    A picture goes to the picture OUTPUT names, or into OUTPUT when it is a folder (an
    existing one, or a name ending in "/"); a folder goes into the folder OUTPUT.

    Raises:
        CaptureError: the input picture is missing, or the input folder holds no
            pictures or cannot be listed.
        SinkError: OUTPUT cannot take the result (a video name for a folder, an unknown
            image type, the input itself).
    """
    target = Path(output).expanduser()
    if source.is_dir():
        return _folder_jobs(source, target, output)
    if not source.is_file():
        raise CaptureError(f"no picture at {source} (relative to {Path.cwd()}): check the "
                           "path")
    if target.is_dir() or output.endswith(("/", os.sep)):
        target = target / source.name
    elif is_sequence_pattern(output):
        raise SinkError(f"{output} is a numbered sequence but {source} is one picture: "
                        f"name the painting, e.g. -o painted{source.suffix}")
    check_image_name(target)
    _refuse_overwrite(source, target)
    return [StillJob(source, target)]


def _folder_jobs(source: Path, target: Path, output: str) -> list[StillJob]:
    if target.exists() and not target.is_dir():
        raise SinkError(f"{target} is a file, but a folder of pictures is painted into a "
                        "folder: give -o a folder name, e.g. painted/")
    suffix = target.suffix.lower()
    if is_image_path(target) or suffix in _VIDEO_SUFFIXES or is_sequence_pattern(output):
        raise SinkError(f"{output} names a file, but a folder of pictures is painted into a "
                        "folder that keeps their names: give -o a folder, e.g. painted/")
    _refuse_overwrite(source, target)
    return [StillJob(image, target / image.name) for image in list_images(source)]


def _refuse_overwrite(source: Path, target: Path) -> None:
    if target.resolve() == source.resolve():
        raise SinkError(f"-o {target} would replace the original {source}: choose another "
                        "name or folder")


def prepare_targets(jobs: list[StillJob]) -> None:
    """Create the output folders and prove they take a file, so a bad -o fails before a
    network is loaded and anything painted. Raises SinkError with the OS's reason."""
    for folder in sorted({job.target.parent for job in jobs}):
        prepare_folder(folder)


def paint_stills(stylizer: Stylizer, jobs: list[StillJob], *,
                 size: tuple[int, int] | None = None,
                 on_done: Callable[[StillJob], None] | None = None) -> list[str]:
    """Paint every job with ``stylizer`` (its temporal cache must be off).

    A picture that cannot be read or painted (damaged, too small) is reported as one error
    line and skipped when there are several; writing stops the run at once, because the next
    write would fail for the same reason (no space, no permission).

    Args:
        stylizer: an open Stylizer.
        jobs: from ``plan_stills``.
        size: (width, height) every picture is scaled to first, or None for its own size.
        on_done: called after each picture is written (a progress bar).

    Returns:
        One message per skipped picture (empty when all were painted).

    Raises:
        CaptureError, ConfigError: the only picture could not be read or painted.
        SinkError: a painting could not be written; the message names the OS's reason.
    """
    skipped: list[str] = []
    for job in jobs:
        try:
            rgb = read_image(job.source)
            if size is not None:
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            painted = stylizer.stylize_array(rgb)
        except (CaptureError, ConfigError) as exc:
            if len(jobs) == 1:
                raise
            log.error("skipped %s: %s", job.source.name, exc)
            skipped.append(f"{job.source}: {exc}")
            continue
        write_image(job.target, painted)
        if on_done is not None:
            on_done(job)
    return skipped
