"""The plugin is discovered through its entry points and builds from the registry."""
import inria
from inria.interfaces import Codec


def test_discovered_and_created():
    assert "pq_mim" in inria.available("codec")
    codec = inria.create("codec", "pq_mim", checkpoint="", mim_depth=1)
    assert isinstance(codec, Codec)
    assert type(codec).name == "pq_mim"
    assert codec.config.num_subquantizers == 16


def test_objectives_are_registered():
    from inria.registry import get_registry

    names = get_registry().names("objectives")
    assert {"pq_mim_autoencoder", "pq_mim_mim"} <= set(names)
