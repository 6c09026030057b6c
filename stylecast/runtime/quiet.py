"""Keeping the ONNX exporter's chatter off the user's terminal while it runs.

``torch.onnx.export`` (dynamo) narrates through torch's own stderr handler
("torchvision is not installed. Skipping torchvision::nms" once per torchvision op), emits
FutureWarnings from torch's pytree code and a UserWarning per merged dynamic axis, and its
optimiser (onnxscript, onnx_ir) logs every pass. None of it is actionable for someone
painting a video, and it arrives on a first run, when the tool should look its best.

So the export runs inside ``quiet_exporter()``: those loggers are raised to ERROR for its
duration (WARNING under ``--verbose``), and warnings are recorded and re-logged at debug
level under this module's logger instead of printed. A real failure still raises and is
reported by the caller as an EngineBuildError.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

log = logging.getLogger(__name__)

#: Loggers the exporter and its graph optimiser write to; "torch" covers torch.onnx,
#: torch.export and torch.fx, which all narrate under it with their own handler.
EXPORTER_LOGGERS = ("torch", "onnxscript", "onnx_ir")


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Run the block with the exporter's logs and warnings kept off stderr.

    Warnings raised meanwhile, from any thread (the warnings filter is process-wide), are
    logged at debug level, so ``--verbose`` still shows them.
    """
    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    saved = [logger.level for logger in loggers]
    # Someone asking for details (--verbose) gets the exporter's own warnings too, but not
    # its INFO narration of every optimiser pass.
    level = logging.WARNING if log.isEnabledFor(logging.DEBUG) else logging.ERROR
    for logger in loggers:
        logger.setLevel(level)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for item in caught:
                    log.debug("exporter %s: %s", item.category.__name__, item.message)
    finally:
        for logger, before in zip(loggers, saved, strict=True):
            logger.setLevel(before)
