import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """The test machine is shared: one intra-op thread is faster under contention; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(**kw):
    """A small ThreeThingsBackbone config (32x32, patch 8, width 24, 2 blocks x 2 branches) with overrides."""
    import inria

    args = dict(img_size=32, patch_size=8, embed_dim=24, depth=2, num_heads=2, num_classes=3)
    args.update(kw)
    return inria.create("backbone", "three_things_digits_6x2", **args)


@pytest.fixture
def make():
    return tiny
