"""List every style of every installed pack. Use a NAME with --style. Packs are read from
$STYLECAST_STYLES, the user data folder, and the packs shipped with stylecast.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    styles = sub.add_parser(
        "styles", help="list the installed styles (name, painting, artist, year)",
        description=__doc__)
    styles.add_argument("--json", action="store_true", help="machine-readable output")
    styles.set_defaults(handler=list_styles)


def list_styles(args: argparse.Namespace) -> int:
    from stylecast.styles import StyleCatalog

    catalog = StyleCatalog.discover()
    styles = catalog.styles()
    if args.json:
        rows = []
        for info in styles:
            pack = catalog.pack_of(info.name)
            rows.append(info.as_dict() | {"networks": sorted(pack.networks)})
        print(json.dumps({"styles": rows, "broken_packs": list(catalog.broken)}, indent=2))
        return 0
    if not styles:
        print("no style packs installed (set STYLECAST_STYLES to a folder of packs)")
        return 1
    width = max(len(s.name) for s in styles)
    for info in styles:
        print(f"{info.name:<{width}}  {info.title} — {info.artist}, {info.year}  [{info.pack}]")
    for broken in catalog.broken:
        print(f"(skipped broken pack: {broken})", file=sys.stderr)
    return 0
