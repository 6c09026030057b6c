"""What the measure can reach: Gatys et al. (2016) optimisation on the measure itself.

For one photo and one painting, the image is optimised directly (Adam on its pixels, from
the photo, a fixed budget of iterations) to lower ``content_weight * content + style``,
with both terms exactly as ``stylecast.training.measure`` defines them, normalised so the
weight reads the same for every painting. The result is an upper bound that the network
cannot beat per photo; ``stylecast evaluate`` prints it beside the network's figure.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image

from stylecast.training import measure

# A step budget and learning rate that reach a stable optimum at 512 px on a CPU in about a
# minute per photo with bf16 VGG features; the figure reported is the fp32 measure.
ITERATIONS = 200
LEARNING_RATE = 0.02


def gatys(
    vgg: torch.nn.Module, photo: Image.Image, painting: Image.Image, *,
    style_weight: float, iterations: int = ITERATIONS, bf16: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> Image.Image:
    """The photo, optimised toward ``painting``'s style at the measure width.

    ``style_weight`` multiplies the style term divided by the painting's own Gram energy
    (sum of ||G||^2), against the content term divided by the photo's mean squared relu4_2.
    """
    content_image = measure.to_tensor(measure.resize_width(photo))
    with torch.inference_mode():
        target = measure.style_grams(vgg, measure.to_tensor(measure.resize_width(painting)))
        photo_feats = vgg(content_image, (measure.CONTENT_LAYER,))[measure.CONTENT_LAYER]
    target = {k: v.clone() for k, v in target.items()}
    photo_feats = photo_feats.clone()
    style_norm = sum(float(g.pow(2).sum()) for g in target.values())
    content_norm = float(photo_feats.pow(2).mean())
    # Optimise in logit space so pixels stay in (0, 1) without clamping the gradient away.
    start = content_image.clamp(1e-3, 1 - 1e-3)
    logits = torch.log(start / (1 - start)).requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=LEARNING_RATE * 4)
    layers = (*measure.STYLE_LAYERS, measure.CONTENT_LAYER)
    for step in range(iterations):
        image = torch.sigmoid(logits)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            feats = vgg(image, layers)
        grams = {k: measure.gram(feats[k]) for k in measure.STYLE_LAYERS}
        style = measure.style_distance(grams, target).sum() / style_norm
        content = measure.content_distance(feats[measure.CONTENT_LAYER], photo_feats).sum()
        loss = content / content_norm + style_weight * style
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step)
    array = (torch.sigmoid(logits.detach())[0].permute(1, 2, 0).numpy() * 255).round()
    return Image.fromarray(array.astype("uint8"))
