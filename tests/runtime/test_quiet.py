"""quiet_exporter: the ONNX exporter's chatter stays off stderr, and --verbose keeps it."""

from __future__ import annotations

import logging
import warnings

import pytest

from stylecast.runtime.quiet import EXPORTER_LOGGERS, quiet_exporter


def _chatter() -> None:
    """What torch.onnx.export (dynamo) prints on a first run, one of each kind."""
    logging.getLogger("torch.onnx._internal.exporter._registration").warning(
        "torchvision is not installed. Skipping torchvision::nms")
    logging.getLogger("onnxscript.optimizer").info("applied a rewrite pass")
    warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning,
                  stacklevel=1)
    warnings.warn("# The axis name: height_blocks will not be used", UserWarning, stacklevel=1)


def test_chatter_stays_off_stderr_and_is_logged_at_debug(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import torch.onnx  # noqa: F401  (installs torch's own stderr handler, as in a real run)

    caplog.set_level(logging.DEBUG, logger="stylecast")
    with quiet_exporter():
        _chatter()
    # torch's own handler may hold pytest's sys.stderr rather than fd 2, so the levels are
    # checked directly below too; the subprocess test in tests/test_quiet_run.py is the proof.
    err = capfd.readouterr().err
    assert "torchvision" not in err and "Warning" not in err and "pass" not in err
    debug = [r.getMessage() for r in caplog.records if r.name == "stylecast.runtime.quiet"]
    assert any("FutureWarning" in line and "LeafSpec" in line for line in debug)
    assert any("UserWarning" in line and "height_blocks" in line for line in debug)


def test_levels_come_back_even_when_the_export_fails() -> None:
    before = [logging.getLogger(name).level for name in EXPORTER_LOGGERS]
    with pytest.raises(RuntimeError, match="export broke"), quiet_exporter():
        raise RuntimeError("export broke")
    assert [logging.getLogger(name).level for name in EXPORTER_LOGGERS] == before


@pytest.mark.parametrize("verbose", [False, True])
def test_verbose_lets_the_exporters_warnings_through_but_not_its_narration(
    caplog: pytest.LogCaptureFixture, verbose: bool
) -> None:
    caplog.set_level(logging.DEBUG if verbose else logging.INFO, logger="stylecast")
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    with quiet_exporter():
        assert registration.isEnabledFor(logging.WARNING) is verbose
        assert not registration.isEnabledFor(logging.INFO)
        assert registration.isEnabledFor(logging.ERROR)  # real failures still show
