"""Training data: the photo splits and a deterministic random-crop dataset.

Splits (scikit-image's bundled photographs via :mod:`inria.data.images`, no
download). ``TEST_PHOTOS`` are the four held-out colour photographs the
benchmark reports on, the same held-out set as the pq_mim plugin's, so both
codecs are measured on photos neither saw; ``TRAIN_PHOTOS`` are the others
(``astronaut`` stays out of training entirely).
"""
from __future__ import annotations

import torch

TEST_PHOTOS = ["astronaut", "coffee", "chelsea", "rocket"]
TRAIN_PHOTOS = ["motorcycle_left", "motorcycle_right", "hubble_deep_field", "immunohistochemistry", "retina",
                "camera", "moon", "coins", "clock", "grass", "gravel", "brick"]


def photos(names: list[str]) -> list[torch.Tensor]:
    from inria.data.images import samples

    return [im.expand(3, -1, -1).contiguous() if im.shape[0] == 1 else im for im in samples(names)[0]]


class RandomCrops(torch.utils.data.Dataset):
    """Item i: a random ``crop`` x ``crop`` window (random horizontal flip) of image i % n, drawn from (seed, i)."""

    def __init__(self, images: list[torch.Tensor], crop: int, length: int, seed: int = 0):

        self.images = [im if min(im.shape[-2:]) >= crop else
                       torch.nn.functional.pad(im[None], (0, max(crop - im.shape[-1], 0), 0,
                                                          max(crop - im.shape[-2], 0)), mode="replicate")[0]
                       for im in images]
        self.crop, self.length, self.seed = crop, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> torch.Tensor:
        im = self.images[i % len(self.images)]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        h, w = im.shape[-2:]
        top = int(torch.randint(0, h - self.crop + 1, (1,), generator=g))
        left = int(torch.randint(0, w - self.crop + 1, (1,), generator=g))
        out = im[:, top:top + self.crop, left:left + self.crop]
        return out.flip(-1) if torch.rand(1, generator=g) < 0.5 else out
