"""The StylecastError tree.

Every message says what went wrong, what was expected, and what to do next; the CLI prints
it as one line and exits non-zero, so library code raises these instead of printing.
"""

from __future__ import annotations


class StylecastError(Exception):
    """Base of every error stylecast raises on purpose."""


class ConfigError(StylecastError):
    """A setting, flag or argument is invalid."""


class StyleNotFound(StylecastError):
    """A style name is not in any installed pack."""


class PackError(StylecastError):
    """A style pack is malformed, tampered with or incompatible."""


class BackendUnavailable(StylecastError):
    """A runtime, sink or capture backend cannot be opened on this machine."""


class CaptureError(StylecastError):
    """A capture source cannot be opened or stopped delivering frames."""


class SinkError(StylecastError):
    """An output (virtual camera, recording, stream) failed."""


class RuntimeFailed(StylecastError):
    """The inference runtime raised while stylizing (out of memory, a driver fault)."""


class StreamError(SinkError):
    """A network stream output failed."""


class EngineBuildError(StylecastError):
    """A compiled engine (ONNX, TensorRT) could not be built or loaded."""


class EngineMismatch(EngineBuildError):
    """A cached engine was built for another GPU, TensorRT version, graph or setting.

    Attributes:
        fields: names of the engine-key fields that differ.
    """

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


class TrainingError(StylecastError):
    """Training could not start or continue."""


def first_line(error: BaseException) -> str:
    """One line that says why ``error`` happened, for a message or a log line: the first
    line of its text (an OSError's strerror, without the errno and path noise), or its type
    name when it has no text."""
    text = getattr(error, "strerror", None) or str(error)
    lines = str(text).strip().splitlines()
    return lines[0] if lines else type(error).__name__
