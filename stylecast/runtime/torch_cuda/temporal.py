"""``TemporalFrameGraph`` for the CUDA runtime: eager, on the runtime's compute stream.

The temporal graph carries its state through numpy arrays each frame (see
``stylecast.temporal.state``), so it gains little from a CUDA graph; it runs eagerly. Its
weights stay f32 and, when the runtime runs f16, autocast runs the convolutions in f16 while
the norm statistics and the warps stay f32, which the smoothed statistics need.
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch

from stylecast.model.network import StyleNetwork
from stylecast.temporal.graph import TemporalFrameGraph
from stylecast.temporal.state import TemporalInputs, TemporalOutputs


class CudaTemporal:
    """The temporal graph on one device.

    Args:
        network: the network; a copy goes to ``device``.
        device: where it runs.
        f16: run under f16 autocast (else f32 throughout).
    """

    def __init__(self, network: StyleNetwork, device: torch.device, f16: bool) -> None:
        self.graph = TemporalFrameGraph(copy.deepcopy(network)).to(device).eval()
        self.device = device
        self.f16 = f16
        self.channels = network.spec.channels

    def run(
        self, stream: torch.cuda.Stream, flags: contextlib.AbstractContextManager[None],
        frame: np.ndarray, style: np.ndarray, strength: float, preserve: float,
        state: TemporalInputs,
    ) -> tuple[np.ndarray, TemporalOutputs]:
        """One frame; arguments and results as ``Runtime.infer_temporal``, already checked
        except for ``state``.

        Args:
            stream: the stream to run on; only it is waited for.
            flags: the runtime's backend flags (cuDNN), entered around the run.

        Raises:
            ValueError: ``state`` does not match the frame (shapes, dtypes).
        """
        height, width = frame.shape[0] // 4, frame.shape[1] // 4
        state.check(self.channels, self.graph.stats_channels, height, width)
        arrays = (frame[None], style[None], np.array([strength], np.float32),
                  np.array([preserve], np.float32), *state.feeds().values())
        with torch.no_grad(), torch.cuda.stream(stream), flags, torch.autocast(
                self.device.type, dtype=torch.float16, enabled=self.f16):
            inputs = [torch.from_numpy(np.ascontiguousarray(a)).to(self.device)
                      for a in arrays]
            out, features, stats = self.graph(*inputs)
            # .cpu() copies on this stream and waits for it alone.
            result = out[0].cpu().numpy()
            outputs = TemporalOutputs(features=features.float().cpu().numpy(),
                                      stats=stats.float().cpu().numpy())
        return result, outputs
