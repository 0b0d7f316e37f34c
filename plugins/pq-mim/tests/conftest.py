"""Fixtures: a tiny pq_mim model (random weights, made confident so its tables are far from uniform)."""
import pytest
import torch

TINY = dict(checkpoint="", downsampling=4, channels=[8, 16], res_blocks=1, latent_dim=16, num_subquantizers=4,
            codebook_size=16, mim_dim=32, mim_depth=1, mim_heads=2, mim_head_dim=8, mim_tile=4, coding_groups=4)


def make_tiny(seed: int = 0):
    import inria

    torch.manual_seed(seed)
    codec = inria.create("codec", "pq_mim", **TINY)
    with torch.no_grad():  # peaked, context-dependent predictions: a harder test of coder determinism
        codec.mim.head_out.mul_(40)
        codec.mim.head_bias.normal_(0, 2)
        codec.mim.tok.weight.mul_(20)
    codec.weights_changed()
    return codec


@pytest.fixture(scope="session")
def tiny_config():
    return dict(TINY)


@pytest.fixture(scope="session")
def tiny():
    return make_tiny()


@pytest.fixture(scope="session")
def tiny_other():
    """Same architecture, other weights (another seed)."""
    return make_tiny(seed=1)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory, tiny):
    return tiny.save(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def photo():
    """A 48x64 crop of a bundled photograph (a real image: the tokens are not noise)."""
    from inria.data.images import samples

    return samples(["coffee"])[0][0][:, 100:148, 200:264].contiguous()
