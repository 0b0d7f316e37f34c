"""Bad input gets one line naming the field or value and what would be accepted."""
import numpy as np
import pytest
import torch

import inria
from inria.errors import InriaError
from inria_ssl_watermarking.normlayer import save_normlayer

RANDOM = {"backbone_args": {"checkpoint": None}}


def one_line(exc_info, *words):
    text = str(exc_info.value)
    assert "\n" not in text, text
    for w in words:
        assert w in text, (w, text)


def test_a_backbone_that_is_not_installed_names_the_plugin(monkeypatch):
    from inria import registry

    catalog = {"plugins": [{"distribution": "inria-plugin-dino", "provides": {"backbone": ["dino_vits16"]}}]}
    monkeypatch.setattr(registry, "catalog", lambda: catalog)
    z = inria.create("watermarker", "ssl_zero_bit", backbone="dino_vits16", normlayer=None)
    with pytest.raises(InriaError) as e:
        z.embed(torch.rand(1, 3, 32, 32))
    one_line(e, "backbone", "dino_vits16", "pip install inria-plugin-dino")
    z = inria.create("watermarker", "ssl_zero_bit", backbone="ssl_resnet_cpx", normlayer=None)
    with pytest.raises(InriaError) as e:
        z.detect(torch.rand(1, 3, 32, 32))
    one_line(e, "ssl_resnet_cpx", "did you mean 'ssl_resnet_cpu'")


def test_a_normlayer_of_the_wrong_dimension(tmp_path):
    save_normlayer(tmp_path / "n.safetensors", torch.eye(64), torch.zeros(64))
    z = inria.create("watermarker", "ssl_zero_bit", normlayer=str(tmp_path / "n.safetensors"), **RANDOM)
    with pytest.raises(InriaError) as e:
        z.detect(torch.rand(1, 3, 32, 32))
    one_line(e, "n.safetensors", "64-d features but the backbone gives 512-d")
    z = inria.create("watermarker", "ssl_zero_bit", **RANDOM)  # 'default' exists only with the shipped weights
    with pytest.raises(InriaError) as e:
        z.detect(torch.rand(1, 3, 32, 32))
    one_line(e, "normlayer", "normlayer: fit")


def test_messages_longer_than_k_and_bits_beyond_d():
    m = inria.create("watermarker", "ssl_multi_bit", bits=30, normlayer=None, **RANDOM)
    with pytest.raises(InriaError) as e:
        m.embed(torch.rand(2, 3, 32, 32), np.zeros((2, 31), bool))
    one_line(e, "messages", "31 bits", "30")
    with pytest.raises(InriaError) as e:
        m.embed(torch.rand(2, 3, 32, 32), np.zeros((3, 30), bool))
    one_line(e, "3 messages for 2 images")
    with pytest.raises(InriaError) as e:
        m.embed_text(torch.rand(1, 3, 32, 32), "a message of 5 chars")
    one_line(e, "needs 160 bits", "30")
    big = inria.create("watermarker", "ssl_multi_bit", bits=600, normlayer=None, **RANDOM)
    with pytest.raises(InriaError) as e:
        big.carriers()
    one_line(e, "bits 600 exceed the feature dimension 512")


@pytest.mark.parametrize("fpr", [0, 1, 1.5, -1e-6])
def test_a_target_fpr_outside_0_1(fpr):
    for name in ("ssl_zero_bit", "ssl_multi_bit"):
        with pytest.raises(InriaError) as e:
            inria.create("watermarker", name, fpr=fpr)
        one_line(e, "fpr", "(0, 1)")


def test_images_of_different_sizes_are_marked_in_one_call():
    """The official code needs one size per batch; here sizes are grouped, and each keeps its own."""
    z = inria.create("watermarker", "ssl_zero_bit", normlayer=None, marking={"iterations": 2}, **RANDOM)
    imgs = [torch.rand(3, 40, 40), torch.rand(3, 48, 32)]
    marked, msgs = z.embed(imgs)
    assert [m.shape for m in marked] == [im.shape for im in imgs] and msgs.shape == (2, 0)
    assert len(z.detect(marked)) == 2


def test_bad_images_are_refused():
    z = inria.create("watermarker", "ssl_zero_bit", normlayer=None, **RANDOM)
    for bad, words in [(torch.rand(1, 4, 32, 32), "RGBA"), (torch.rand(1, 3, 8, 8), "at least 16x16"),
                       (torch.full((1, 3, 32, 32), float("nan")), "NaN"), ([], "no images")]:
        with pytest.raises(InriaError) as e:
            z.detect(bad)
        one_line(e, *words)
