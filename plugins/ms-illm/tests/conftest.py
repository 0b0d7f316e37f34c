"""Fixtures: a tiny ms_illm network (random weights) and a real photo crop."""
import pytest
import torch

TINY = dict(checkpoint="", widths=[4, 4, 8, 8, 8], latent_channels=8, hyper_channels=8, residual_blocks=1)


def make_tiny(name: str = "noganms", seed: int = 0):
    import inria

    torch.manual_seed(seed)
    return inria.create("codec", name, **TINY)


@pytest.fixture(scope="session")
def tiny():
    return make_tiny()


@pytest.fixture(scope="session")
def tiny_other():
    """Same architecture, other weights."""
    return make_tiny(seed=1)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory, tiny):
    return tiny.save(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def photo():
    """A 70x100 crop of a bundled photograph (not a multiple of the 64-pixel padding unit)."""
    from inria.data.images import samples

    return samples(["coffee"])[0][0][:, 100:170, 200:300].contiguous()
