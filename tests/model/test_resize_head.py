"""lite's resize-convolution head: its footprint, its pack record and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stylecast.errors import PackError
from stylecast.model.network import NetworkSpec, StyleNetwork
from stylecast.model.pack import load_pack
from tests.conftest import TINY, assert_onnx_runtimes_paint_as, make_network, make_pack

RESIZE = NetworkSpec(size="lite", num_styles=3, channels=16, blocks=2, head="resize")


class _Passthrough(torch.nn.Module):
    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return x


def _footprint(spec: NetworkSpec) -> torch.Tensor:
    """Pixels of the decoded image that move when one feature cell in the middle moves."""
    net = make_network(spec, seed=1).eval()
    # The decoder's body normalises over the whole map, so one cell would move every pixel
    # a little: look at the head alone.
    net.decoder.body = _Passthrough()
    style = torch.eye(3)[:1]
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    features = torch.randn(1, 16, 16, 16, generator=torch.Generator().manual_seed(3))
    nudged = features.clone()
    nudged[0, :, 8, 8] += 5.0
    with torch.inference_mode():
        change = (net.decode(nudged, style, image) - net.decode(features, style, image)).abs()
    return change.amax(dim=1)[0] > 1e-6


def test_one_feature_cell_paints_a_4px_block_with_pixelshuffle_and_a_soft_patch_with_resize(
) -> None:
    rows, cols = torch.nonzero(_footprint(TINY), as_tuple=True)
    # The cell's own 4x4 block (pixels 32-35), plus the 3x3 refinement's one-pixel ring.
    assert rows.min() >= 31 and rows.max() <= 36 and cols.min() >= 31 and cols.max() <= 36
    rows, cols = torch.nonzero(_footprint(RESIZE), as_tuple=True)
    # Bilinear x4 spreads a cell over its neighbours' blocks: an 8-px wide ramp each way.
    assert rows.min() <= 29 and rows.max() >= 38 and cols.min() <= 29 and cols.max() >= 38


def test_the_resize_head_keeps_shape_range_and_the_encoder_contract() -> None:
    net = StyleNetwork(RESIZE).eval()
    x = torch.rand(2, 3, 36, 52)
    with torch.inference_mode():
        y = net(x, torch.eye(3)[:2])
    assert y.shape == x.shape and 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    assert net.decoder.to_pixels.out_channels < 48  # not a PixelShuffle table


def test_unknown_heads_and_a_resize_full_network_are_refused() -> None:
    with pytest.raises(ValueError, match="head must be one of"):
        NetworkSpec(size="lite", num_styles=1, channels=8, blocks=1, head="transposed")
    with pytest.raises(ValueError, match="only lite takes"):
        NetworkSpec.preset("full", 2, head="resize")


def test_the_pack_records_the_head_and_builds_it_back(tmp_path: Path) -> None:
    root = make_pack(tmp_path / "resize", spec=RESIZE)
    assert 'head = "resize"' in (root / "manifest.toml").read_text()
    pack = load_pack(root)
    assert pack.entry("lite").spec.head == "resize"
    loaded, made = pack.load_network("lite"), make_network(RESIZE)
    for key, value in made.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    # The default head is not written: manifests of packs made before heads stay as they were.
    default = make_pack(tmp_path / "default")
    assert "head" not in (default / "manifest.toml").read_text()
    assert load_pack(default).entry("lite").spec.head == "pixelshuffle"


@pytest.mark.parametrize("head, message", [
    ("transposed", r"head must be one of \('pixelshuffle', 'resize'\)"),
    ("pixelshuffle", r"decoder.to_pixels.weight is \(8, 16, 1, 1\).*expected \(48, 16"),
])
def test_a_manifest_with_a_wrong_head_says_so(tmp_path: Path, head: str, message: str) -> None:
    root = make_pack(tmp_path / "p", spec=RESIZE)
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('head = "resize"', f'head = "{head}"'))
    with pytest.raises(PackError, match=message):
        load_pack(root).load_network("lite")


def test_the_onnx_runtimes_paint_the_resize_head_as_torch_does(tmp_path: Path) -> None:
    from stylecast.model.pack import write_network

    base = {"pack": "resize", "description": "made by the tests",
            "styles": [{"name": n, "title": n, "artist": "A", "year": 1900, "basis": "test"}
                       for n in ("alpha", "beta", "gamma")]}
    made = make_network(RESIZE)
    write_network(tmp_path / "resize", base, made, {"steps": 0})  # with its graphs
    assert_onnx_runtimes_paint_as(made, load_pack(tmp_path / "resize").network("lite"),
                                  tmp_path)


def test_a_resize_head_started_from_a_pixelshuffle_network_paints_its_blocks_mean() -> None:
    from stylecast.training.head_transplant import resize_head_state

    old = make_network(TINY, seed=4).eval()
    new = StyleNetwork(RESIZE).eval()
    new.load_state_dict(resize_head_state(old.state_dict(), new))
    for key, value in old.state_dict().items():
        if not key.startswith(("decoder.to_pixels", "decoder.refine")):
            assert torch.equal(new.state_dict()[key], value), key
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    style = torch.eye(3)[:1]
    with torch.inference_mode():
        before, after = old(x, style), new(x, style)
        fresh = StyleNetwork(RESIZE).eval()(x, style)

    def blocks(y: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(y, 4)

    # The same picture without its sub-block texture: per 4x4 block, the old and new means
    # agree far better than a fresh resize head's do.
    carried = (blocks(after) - blocks(before)).abs().mean()
    assert carried < 0.4 * (blocks(fresh) - blocks(before)).abs().mean()
    assert carried < 0.02
