"""Arguments and handler of ``stylecast export-onnx``: a pack's ONNX graphs, into the pack."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """\
examples:
  stylecast export-onnx styles/classic
      export the graphs of every network of the pack in that folder
  stylecast export-onnx classic --network lite
      only the lite network of the installed pack named classic

The graphs (<size>.onnx and <size>.temporal.onnx) are written beside the weights and
recorded in manifest.toml with their checksums and the weights they were exported from; with
them `stylecast run` and `render` need no PyTorch on OpenVINO and onnxruntime. Training
writes them itself; run this on a pack made before, or after replacing its weights by hand.
Needs PyTorch (pip install torch==2.13.0 'stylecast[torch]').
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-onnx", help="add a style pack's ONNX graphs to it (so CPU runs need no torch)",
        description="Export the ONNX graphs (plain and temporal) of a style pack's networks\n"
        "into the pack and record them in its manifest.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="PACK",
                   help="a pack folder (with manifest.toml), or an installed pack's name")
    p.add_argument("--network", choices=("all", "lite", "full"), default="all",
                   help="which network's graphs (default: all the pack has)")
    p.set_defaults(handler=export_graphs)


def _pack_root(target: str) -> Path:
    from stylecast.errors import PackError
    from stylecast.model.pack import MANIFEST
    from stylecast.styles import StyleCatalog

    folder = Path(target)
    if (folder / MANIFEST).is_file():
        return folder
    for pack in StyleCatalog.discover().packs:
        if pack.name == target:
            return pack.root
    raise PackError(f"{target} is neither a pack folder (no {MANIFEST} there) nor the name "
                    "of an installed pack; see `stylecast styles`")


def export_graphs(args: argparse.Namespace) -> int:
    from stylecast.model.packnet import add_graphs, graph_file

    root = _pack_root(args.target)
    sizes = () if args.network == "all" else (args.network,)
    for size in add_graphs(root, sizes):
        names = ", ".join(graph_file(size, kind) for kind in ("onnx", "temporal_onnx"))
        print(f"{root}: {size} graphs written ({names}) and recorded in the manifest")
    return 0
