from __future__ import annotations

import pytest
import torch

from stylecast.model.controls import pad_to_multiple, preserve_colour
from stylecast.model.graph import FrameGraph
from stylecast.model.network import NetworkSpec, StyleNetwork
from tests.conftest import TINY, make_network


@pytest.mark.parametrize("size", ["lite", "full"])
@pytest.mark.parametrize("hw", [(36, 52), (20, 100), (64, 64)])
def test_output_shape_and_range(size: str, hw: tuple[int, int]) -> None:
    spec = NetworkSpec(size=size, num_styles=2, channels=16, blocks=1)
    net = StyleNetwork(spec).eval()
    x = torch.rand(2, 3, *hw)
    with torch.inference_mode():
        y = net(x, torch.eye(2))
        features = net.transform(net.encode(x, torch.eye(2)), torch.eye(2))
    assert y.shape == x.shape
    assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    assert features.shape == (2, 16, hw[0] // 4, hw[1] // 4)


def test_odd_sizes_are_padded_to_the_network_multiple() -> None:
    x = torch.rand(1, 3, 37, 51)
    padded = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (40, 52)
    assert torch.equal(padded[..., :37, :51], x)


def test_stages_compose_to_forward() -> None:
    net = make_network()
    x, s = torch.rand(1, 3, 32, 48), torch.eye(3)[:1]
    with torch.inference_mode():
        staged = net.decode(net.transform(net.encode(x, s), s), s, x)
        assert torch.allclose(staged, net(x, s))


def test_styles_differ_and_blend_lies_between() -> None:
    net = make_network()
    x = torch.rand(1, 3, 32, 32)
    eye = torch.eye(3)
    with torch.inference_mode():
        a, b = net(x, eye[:1]), net(x, eye[1:2])
        mid = net(x, 0.5 * (eye[:1] + eye[1:2]))
    assert (a - b).abs().mean() > 0.02
    # The blend is a new picture, not a copy of either style.
    assert (mid - a).abs().mean() > 0.005 and (mid - b).abs().mean() > 0.005


def test_style_switch_needs_no_reload() -> None:
    graph = FrameGraph(make_network()).eval().paint
    x = torch.rand(1, 3, 16, 16)
    one = torch.ones(1)
    zero = torch.zeros(1)
    with torch.inference_mode():
        first = graph(x, torch.eye(3)[:1], one, zero)
        second = graph(x, torch.eye(3)[2:3], one, zero)
        again = graph(x, torch.eye(3)[:1], one, zero)
    assert not torch.allclose(first, second)
    assert torch.equal(first, again)


def test_strength_zero_returns_the_input_and_one_the_stylization() -> None:
    net = make_network()
    graph = FrameGraph(net).eval().paint
    x, s = torch.rand(1, 3, 16, 24), torch.eye(3)[:1]
    with torch.inference_mode():
        none = graph(x, s, torch.zeros(1), torch.zeros(1))
        full = graph(x, s, torch.ones(1), torch.zeros(1))
        half = graph(x, s, torch.full((1,), 0.5), torch.zeros(1))
        styled = net(x, s)
    assert torch.allclose(none, x, atol=1e-6)
    assert torch.allclose(full, styled, atol=1e-6)
    assert torch.allclose(half, 0.5 * (x + styled), atol=1e-5)


def _chroma(rgb: torch.Tensor) -> torch.Tensor:
    y = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    return torch.stack([rgb[:, 2] - y, rgb[:, 0] - y], dim=1)


def test_colour_preservation_keeps_content_chroma_and_styled_luma() -> None:
    content = torch.rand(1, 3, 8, 8) * 0.5 + 0.25
    styled = torch.rand(1, 3, 8, 8) * 0.5 + 0.25
    out = preserve_colour(styled, content)
    assert torch.allclose(_chroma(out), _chroma(content), atol=1e-6)
    luma = lambda t: 0.299 * t[:, 0] + 0.587 * t[:, 1] + 0.114 * t[:, 2]  # noqa: E731
    assert torch.allclose(luma(out), luma(styled), atol=1e-6)


def test_frame_graph_is_uint8_hwc_in_and_out() -> None:
    graph = FrameGraph(make_network()).eval()
    frame = torch.randint(0, 256, (1, 20, 28, 3), dtype=torch.uint8)
    with torch.inference_mode():
        out = graph(frame, torch.eye(3)[:1], torch.zeros(1), torch.zeros(1))
    assert out.dtype == torch.uint8 and out.shape == frame.shape
    assert torch.equal(out, frame)  # strength 0 is an exact pass-through


def test_unknown_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="lite"):
        NetworkSpec.preset("huge", 2)
    assert TINY.multiple == 4
