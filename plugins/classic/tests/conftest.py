"""Real photographs bundled with scikit-image, as the core's image tensors."""
from __future__ import annotations

import pytest
import torch

PHOTOS = ("astronaut", "coffee", "chelsea")


def photo(name: str, side: int) -> torch.Tensor:
    """skimage.data.<name>(), centre-cropped to a square and resized to side x side, (3, side, side) in [0, 1]."""
    from inria.ops.image import resize
    from skimage import data

    x = torch.from_numpy(getattr(data, name)()[..., :3].copy()).permute(2, 0, 1).float() / 255
    s = min(x.shape[-2:])
    top, left = (x.shape[-2] - s) // 2, (x.shape[-1] - s) // 2
    x = x[:, top:top + s, left:left + s]
    return resize(x[None], size=(side, side))[0].clamp(0, 1)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The metrics (pytorch-msssim) run 10-20x slower when torch's threads fight other processes for 2 cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def photos() -> torch.Tensor:
    """The three test photos at 256x256, (3, 3, 256, 256)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # built before the per-test fixture below applies
    try:
        return torch.stack([photo(n, 256) for n in PHOTOS])
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def astronaut(photos) -> torch.Tensor:
    return photos[0]
