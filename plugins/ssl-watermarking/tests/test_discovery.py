"""The plugin is found through its entry points and its components build by name."""
import inria


def test_entry_points_are_discovered():
    assert {"ssl_zero_bit", "ssl_multi_bit"} <= set(inria.available("watermarker"))
    assert {"ssl_resnet_cpu", "dino_resnet50"} <= set(inria.available("backbone"))
    from inria.train.components import resolve

    assert resolve("objectives", "simclr").__name__ == "SimCLR"


def test_create_by_name_without_weights():
    z = inria.create("watermarker", "ssl_zero_bit", backbone_args={"checkpoint": None}, normlayer=None)
    assert z.dim == 512 and 0.2 < z.threshold() < 0.23  # 512-d, FPR 1e-6
    m = inria.create("watermarker", "ssl_multi_bit", bits=30, backbone_args={"checkpoint": None}, normlayer=None)
    assert m.bits == 30 and m.carriers().shape == (30, 512)
