"""Score a pack on held-out photos (the folders its manifest records as held out) with the
project's quality measure: each photo painted as `stylecast render` paints it, then style
loss (Gram distance to the painting, relu1_1..relu4_1) and content loss (relu4_2 distance to
the photo), everything 512 px wide on the Caffe VGG-19. Beside each network: the photo
itself, and a Gatys optimisation on the same loss (what the loss can reach; cached, ~1 min
of CPU per photo and style the first time). Optionally renders the gallery, the controls
strip, 100 % crops of a 720p frame and the README picture.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stylecast.model.pack import StylePack


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="quality measure, gallery and controls strip of a trained pack",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("pack", type=Path, help="pack folder, e.g. styles/classic")
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--quality", type=Path, default=None,
                   help="write the quality table (markdown) here; it is printed either way")
    p.add_argument("--no-quality", action="store_true",
                   help="skip the scores (only render the pictures asked for)")
    p.add_argument("--quality-photos", type=int, default=12,
                   help="held-out photos to score")
    p.add_argument("--styles", nargs="+", default=None, metavar="NAME",
                   help="score only these styles (default: all of the pack's)")
    p.add_argument("--reference-photos", type=int, default=2,
                   help="of those, how many get the Gatys reference (0 = none)")
    p.add_argument("--reference-iterations", type=int, default=200,
                   help="Adam steps of the Gatys reference")
    p.add_argument("--cache", type=Path, default=None,
                   help="where Gatys references are kept (default: the user cache folder)")
    p.add_argument("--gallery", type=Path, default=None, help="write the gallery PNG here")
    p.add_argument("--strip", type=Path, default=None, help="write the controls strip here")
    p.add_argument("--demo", type=Path, default=None,
                   help="write the README picture: the test source and real clip frames "
                   "(from --data video/) in four styles")
    p.add_argument("--crops", type=Path, default=None,
                   help="write 100 %% crops of a 1280x720 frame in every style here "
                   "(lite, painted as `stylecast render` paints it; .jpg or .png)")
    p.add_argument("--photos", type=int, default=4, help="held-out photos in the gallery")
    p.set_defaults(handler=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from stylecast.model.pack import load_pack
    from stylecast.training import evaluate as ev
    from stylecast.training.data import load_rgb

    pack = load_pack(args.pack)
    names = [s.name for s in pack.styles]
    if args.gallery:
        photos = ev.held_out_photos(args.data, pack, args.photos)
        print(f"gallery: {ev.gallery(pack, photos, args.gallery)}")
    if args.strip:
        photo = ev.held_out_photos(args.data, pack, 1, offset=5)[0]
        print(f"strip: {ev.controls_strip(pack, photo, names[0], names[1], args.strip)}")
    if args.crops:
        photo = ev.held_out_photos(args.data, pack, 1, offset=3)[0]
        print(f"crops: {ev.crops_720p(pack, photo, args.crops)}")
    if args.demo:
        clips = [args.data / "video/davis2016_480p/kite-surf/00020.jpg",
                 args.data / "video/davis2016_480p/breakdance/00030.jpg"]
        frames = [load_rgb(c) for c in clips if c.is_file()]
        print(f"demo: {ev.demo_picture(pack, frames, names[:4], args.demo)}")
    if not args.no_quality:
        _quality(args, pack)
    return 0


def _quality(args: argparse.Namespace, pack: StylePack) -> None:
    from platformdirs import user_cache_dir

    from stylecast.training import evaluate as ev
    from stylecast.training import quality
    from stylecast.training.train import cpu_model

    # Offset 1: not the gallery's photos, so the numbers are not of pictures we looked at.
    photos = ev.held_out_photos(args.data, pack, args.quality_photos, offset=1)
    cache = quality.ReferenceCache(args.cache or Path(user_cache_dir("stylecast")) / "gatys")
    scores = quality.score(pack, args.data, photos, reference_photos=args.reference_photos,
                           iterations=args.reference_iterations, cache=cache,
                           styles=args.styles)
    command = "stylecast " + shlex.join(sys.argv[1:])
    table = quality.markdown(scores, photos, command, note=f"Rendered on: {cpu_model()}.")
    print(table)
    if args.quality:
        args.quality.parent.mkdir(parents=True, exist_ok=True)
        args.quality.write_text(table, encoding="utf-8")
        print(f"quality: {args.quality}")
