"""The first test of every plugin: the registry finds it and builds it."""
import torch

import inria

NAMES = ["three_things_small_18x2", "three_things_base_18x2", "three_things_huge_26x2", "three_things_small_36x1",
         "three_things_base_36x1", "three_things_digits_6x2", "three_things_digits_12x1"]


def test_discovered():
    assert set(NAMES) <= set(inria.available("backbone"))
    assert "simmim" in inria.available("objectives")
    bb = inria.create("backbone", "three_things_digits_6x2")
    assert type(bb).name == "three_things_digits_6x2" and bb.config.parallel == 2 and bb.config.depth == 6


def config(name):
    """The constructor's default config (nothing built: the huge model has a billion parameters)."""
    from inria.registry import get_registry

    return get_registry().load("backbone", name).Config()


def test_named_architectures_match_the_official_constructors():
    small = config("three_things_small_18x2")
    assert (small.embed_dim, small.depth, small.parallel, small.num_heads, small.patch_size) == (384, 18, 2, 6, 16)
    huge = config("three_things_huge_26x2")
    assert (huge.embed_dim, huge.depth, huge.parallel, huge.num_heads, huge.patch_size) == (1280, 26, 2, 16, 14)
    seq = config("three_things_base_36x1")
    assert (seq.embed_dim, seq.depth, seq.parallel) == (768, 36, 1)


def test_shapes(make):
    bb = make()
    x = torch.rand(4, 3, 20, 20)  # resized to 32
    assert bb.embed(x).shape == (4, 24)
    assert bb.classify(x).shape == (4, 3)


def test_demo_recipe_is_found_by_name():
    from inria.recipe import load

    plan = load("three_things_demo")
    assert [s.id for s in plan.steps][-1] == "evaluate"


def test_features_are_embed_with_gradients_to_the_pixels():
    """Backbone.features: what pixel-optimising methods (SSL watermarking) call by name."""
    import inria
    import torch

    bb = inria.create("backbone", "three_things_digits_6x2")
    x = torch.rand(2, 3, 40, 40, requires_grad=True)
    ft = bb.features(x)
    ft.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.allclose(ft.detach(), torch.from_numpy(bb.embed(x.detach())), atol=1e-4)
