"""The plugin is discovered through its entry points and builds from the registry."""
import inria
from inria.interfaces import Codec


def test_discovered_and_created():
    assert {"ms_illm", "noganms"} <= set(inria.available("codec"))
    for name in ("ms_illm", "noganms"):
        codec = inria.create("codec", name, checkpoint="", widths=[4, 4, 8, 8, 8], latent_channels=8,
                             hyper_channels=8, residual_blocks=1)
        assert isinstance(codec, Codec)
        assert type(codec).name == name
        assert codec.model.latent == 8


def test_components_are_registered():
    from inria.registry import get_registry

    reg = get_registry()
    assert {"ms_illm_rate_distortion", "ms_illm_adversarial", "ms_illm_vqvae"} <= set(reg.names("objectives"))
    assert "ms_illm_generator" in reg.names("param_groups")
