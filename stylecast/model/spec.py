"""What determines a network's parameter shapes and its exported graphs' meaning: no torch.

Packs, the ONNX runtimes and the command line read these without importing torch; the
torch modules (``stylecast.model.network``, the exporters) import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

SIZES = ("lite", "full")
#: How ``lite`` returns from 1/4 resolution to full: ``pixelshuffle`` paints each 4x4 block
#: from one feature cell (cheapest, but the strokes follow a 4-px grid); ``resize`` blends
#: a few feature channels bilinearly and convolves them with the input at full resolution
#: (no 4-px grid, and a photo moved by 1-3 px is repainted 2-3x less). ``full``'s
#: decoder always upsamples and convolves, so it has only the default.
HEADS = ("pixelshuffle", "resize")


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that determines the network's parameter shapes.

    Attributes:
        size: ``"lite"`` or ``"full"``.
        num_styles: rows in every conditional-norm table (length of the style vector).
        channels: width of the 1/4-resolution body.
        blocks: residual blocks in the bottleneck.
        head: ``lite``'s upsampling head, one of ``HEADS``.
    """

    size: str
    num_styles: int
    channels: int
    blocks: int
    head: str = HEADS[0]

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"network head must be one of {HEADS}, got {self.head!r}")
        if self.size == "full" and self.head != HEADS[0]:
            raise ValueError("the full network's decoder always upsamples and convolves: "
                             f"only lite takes head={self.head!r}")

    @property
    def multiple(self) -> int:
        """Height and width of the network input must be multiples of this."""
        return 4

    @classmethod
    def preset(cls, size: str, num_styles: int, head: str = HEADS[0]) -> NetworkSpec:
        if size == "lite":
            return cls(size="lite", num_styles=num_styles, channels=64, blocks=5, head=head)
        if size == "full":
            return cls(size="full", num_styles=num_styles, channels=128, blocks=5, head=head)
        raise ValueError(f"network size must be one of {SIZES}, got {size!r}")


#: ONNX opset the graphs are exported at.
OPSET = 18
#: Bump whenever FrameGraph's inputs, outputs or export settings change meaning; a pack's
#: shipped graph of another format is not used.
GRAPH_FORMAT = 2
#: The same for TemporalFrameGraph.
TEMPORAL_GRAPH_FORMAT = 4
