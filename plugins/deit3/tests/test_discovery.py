import inria
import pytest

SIZES = ["deit3_tiny", "deit3_small", "deit3_medium", "deit3_base", "deit3_large", "deit3_huge", "deit3_digits"]


def test_entry_points_are_discovered():
    assert set(SIZES) <= set(inria.available("backbone"))
    assert "three_augment" in inria.available("augmentations")
    assert "bce" in inria.available("objectives")


@pytest.mark.parametrize("name,width,depth,patch", [("deit3_tiny", 192, 12, 16), ("deit3_small", 384, 12, 16),
                                                    ("deit3_huge", 1280, 32, 14), ("deit3_digits", 96, 6, 4)])
def test_create_builds_each_size(name, width, depth, patch):
    # shrunk where possible so the test stays light; the architecture defaults are what is checked
    b = inria.create("backbone", name, depth=1) if name != "deit3_digits" else inria.create("backbone", name)
    c = b.config
    assert (c.embed_dim, c.patch_size) == (width, patch)
    assert type(c)().depth == depth
    assert b.module.patch_embed.proj.weight.shape[0] == width
    assert b.module.no_embed_class and b.module.pos_embed.shape[1] == (c.img_size // patch) ** 2


def test_training_components_build():
    from inria.registry import get_registry

    reg = get_registry()
    aug = reg.load("augmentations", "three_augment")(hflip=False)
    assert aug.hflip is False
    assert callable(reg.load("objectives", "bce")())


def test_describe_prints_config_and_verbs():
    text = inria.describe("deit3_small", "backbone")
    assert "layer_scale_init" in text and "embed(" in text and "fit(" in text
