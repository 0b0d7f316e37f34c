"""The attack layer HiDDeN trains through, built from the core's image ops.

Each batch goes through ONE operation drawn uniformly from the enabled ones
(plus identity), as the official ``HiddenAug`` does. Every family is a
switch; the paper's extractor trained with crop, resize and JPEG on and
blur, rotation and colour jitter off. JPEG goes through
:func:`inria.ops.image.jpeg_ste`: the forward pass is the real codec, the
backward pass the identity.
"""
from __future__ import annotations

import dataclasses
import math
import random
from typing import Callable

import torch

from inria.config import doc
from inria.ops import image as ops


@dataclasses.dataclass
class AttackLayerConfig:
    crop: bool = doc(True, "random crops keeping 30% or 70% of the area")
    resize: bool = doc(True, "resize to 30% or 70% of the area")
    jpeg: bool = doc(True, "real JPEG 50 / 80 with a straight-through gradient")
    blur: bool = doc(False, "Gaussian blur, kernel 11, sigma 2")
    rotate: bool = doc(False, "rotation by ±10 or ±90 degrees")
    jitter: bool = doc(False, "brightness, contrast or saturation 1.5 (hue is left out: the core's hue op "
                               "has no gradient yet)")
    flip: bool = doc(True, "horizontal flip")
    per_batch: int = doc(1, "operations chained per batch (the official layer applies one)")

    def validate(self) -> None:
        if self.per_batch < 1:
            raise ValueError(f"per_batch must be >= 1, got {self.per_batch}")


def _side(area: float) -> float:
    return math.sqrt(area)


class AttackLayer:
    """``layer(x) -> (attacked, name)``; ``x`` a (N, 3, H, W) batch in [0, 1]."""

    def __init__(self, config: AttackLayerConfig | None = None, rng: random.Random | None = None):
        self.config = config or AttackLayerConfig()
        self.rng = rng or random.Random(0)
        c = self.config
        table: list[tuple[str, Callable]] = [("identity", lambda x: x)]
        if c.flip:
            table.append(("flip", ops.hflip))
        if c.crop:
            table += [(f"crop_{a}", (lambda a: lambda x: ops.random_crop(x, a, generator=self._gen()))(a)) for a in (0.3, 0.7)]
        if c.resize:
            table += [(f"resize_{a}", (lambda a: lambda x: ops.resize(x, scale=_side(a)))(a)) for a in (0.3, 0.7)]
        if c.blur:
            table.append(("blur_11", lambda x: ops.gaussian_blur(x, 11, 2.0)))
        if c.jpeg:
            table += [(f"jpeg_{q}", (lambda q: lambda x: ops.jpeg_ste(x, q))(q)) for q in (50, 80)]
        if c.rotate:
            table += [("rotate_10", lambda x: ops.rotate(x, self.rng.uniform(-10, 10))),
                      ("rotate_90", lambda x: ops.rotate(x, 90)), ("rotate_-90", lambda x: ops.rotate(x, -90))]
        if c.jitter:
            table += [("brightness_1.5", lambda x: ops.brightness(x, 1.5)), ("contrast_1.5", lambda x: ops.contrast(x, 1.5)),
                      ("saturation_1.5", lambda x: ops.saturation(x, 1.5))]
        self.table = table

    def _gen(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.rng.getrandbits(62))

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.table]

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, str]:
        names = []
        for _ in range(self.config.per_batch):
            name, fn = self.table[self.rng.randrange(len(self.table))]
            x = fn(x)
            names.append(name)
        return x, "+".join(names)

    def state_dict(self) -> dict:
        return {"rng": self.rng.getstate()}

    def load_state_dict(self, state: dict) -> None:
        st = state["rng"]
        self.rng.setstate((st[0], tuple(st[1]), st[2]) if isinstance(st, (list, tuple)) else st)
