"""How differently the lite network paints a photo moved by d pixels (docs/dev/TEMPORAL.md).

Prints, per style, the mean |Δ| in levels between the network's output moved by d px and
its output for the photo moved by d px, for d = 1..8, over the first three held-out photos
of ``--data`` (16 px at the edges left out). 0 would be a network that paints the same
strokes wherever the camera stands.

    python scripts/shift_equivariance.py --data ../shared/data --styles starry-night udnie
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stylecast.model.pack import load_pack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--pack", type=Path, default=Path("styles/classic"))
    parser.add_argument("--styles", nargs="+", default=["starry-night", "udnie"])
    args = parser.parse_args()
    pack = load_pack(args.pack)
    net = pack.load_network("lite").eval()
    names = [s.name for s in pack.styles]
    photos = sorted((args.data / "content/bsds500/test").glob("*.jpg"))[:3]
    width, margin = 440, 16
    for name in args.styles:
        style = torch.zeros(1, len(names))
        style[0, names.index(name)] = 1.0
        errors: dict[int, list[float]] = {d: [] for d in range(1, 9)}
        for path in photos:
            image = Image.open(path).convert("RGB").resize((480, 320))
            x = torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)[None]
            with torch.no_grad():
                base = net(x[..., :width], style)
                for d in errors:
                    moved = net(x[..., d:width + d], style)
                    # Column j of `moved` shows what column j + d of `base` shows.
                    a = base[..., margin:, d + margin:width - margin]
                    b = moved[..., margin:, margin:width - margin - d]
                    errors[d].append(float((a - b).abs().mean() * 255))
        print(name, " ".join(f"{d}px {np.mean(v):.1f}" for d, v in errors.items()))


if __name__ == "__main__":
    main()
