import inria
import pytest
import torch

NAMES = ["patchconvnet_s60", "patchconvnet_s120", "patchconvnet_b60", "patchconvnet_b120", "patchconvnet_l60",
         "patchconvnet_l120", "patchconvnet_digits"]


def test_entry_points_are_discovered():
    assert set(NAMES) <= set(inria.available("backbone"))


# the paper's Table (REFERENCE.md section 7): width, depth, parameters in millions
@pytest.mark.parametrize("name,width,depth,params", [("patchconvnet_s60", 384, 60, 25.2),
                                                     ("patchconvnet_s120", 384, 120, 47.7),
                                                     ("patchconvnet_b60", 768, 60, 99.4),
                                                     ("patchconvnet_b120", 768, 120, 188.6)])
def test_official_sizes_have_the_papers_parameter_counts(name, width, depth, params):
    from inria.registry import get_registry
    from inria_patchconvnet.patchconvnet import PatchConvNet

    config = get_registry().load("backbone", name).Config()
    assert (config.embed_dim, config.depth, config.patch_size, config.num_heads) == (width, depth, 16, 1)
    with torch.device("meta"):  # the architecture only: no memory, no init cost
        module = PatchConvNet(**{k: getattr(config, k) for k in ("img_size", "patch_size", "num_classes", "embed_dim",
                                                                  "depth", "num_heads", "mlp_ratio_pool")})
    assert abs(sum(p.numel() for p in module.parameters()) / 1e6 - params) < 0.05


def test_layer_scale_init_follows_the_official_constructors():
    inits = {n: inria.create("backbone", n, depth=1, embed_dim=32, img_size=32).module.blocks[0].gamma_1[0].item()
             for n in NAMES[:4]}
    assert inits["patchconvnet_s60"] == pytest.approx(1e-4)
    assert all(inits[n] == pytest.approx(1e-6) for n in NAMES[1:4])


@pytest.mark.parametrize("name", NAMES[:-1])
def test_each_constructor_builds_and_runs_shrunk(name):
    b = inria.create("backbone", name, depth=2, img_size=64)
    x = torch.rand(2, 3, 64, 64)
    assert b.classify(x).shape == (2, 1000)
    assert b.embed(x).shape == (2, b.config.embed_dim)
    assert len(b.module.patch_embed.proj) == 7  # 4 stride-2 convolutions + 3 GELU: 64 px -> 4x4 grid


def test_digits_model_shapes_and_size_match_deit3_digits():
    b = inria.create("backbone", "patchconvnet_digits", checkpoint=None)
    x = torch.rand(3, 3, 32, 32)
    assert b.classify(x).shape == (3, 10) and b.embed(x).shape == (3, 128)
    ours = sum(p.numel() for p in b.module.parameters())
    theirs = sum(p.numel() for p in inria.create("backbone", "deit3_digits").module.parameters())
    assert abs(ours - theirs) / theirs < 0.05


def test_describe_lists_config_and_verbs():
    text = inria.describe("patchconvnet_s60", "backbone")
    assert "layer_scale_init" in text and "embed(" in text and "fit(" in text
