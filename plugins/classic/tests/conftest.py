"""Real photographs bundled with scikit-image, as the core's image tensors."""
from __future__ import annotations

import pytest
import torch

PHOTOS = ["astronaut", "coffee", "chelsea"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The metrics (pytorch-msssim) run 10-20x slower when torch's threads fight other processes for 2 cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def photos() -> torch.Tensor:
    """The three test photos, centre squares at 256x256: (3, 3, 256, 256)."""
    from inria.data.images import samples

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # session fixtures are built before the per-test fixture above applies
    try:
        return torch.stack(samples(PHOTOS, size=256)[0])
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def astronaut(photos) -> torch.Tensor:
    return photos[0]
