"""inria.ops.watermark: the checks every watermarker runs on its inputs, and text messages."""
import numpy as np
import pytest
import torch

from inria.errors import InriaError
from inria.ops.watermark import bits_to_text, check_images, parse_key, parse_messages, text_to_bits


def test_messages_keys_and_their_refusals():
    assert parse_key("0110", 4).tolist() == [False, True, True, False]
    assert parse_messages("01", 3, 2).shape == (3, 2)  # one key broadcast to every image
    assert parse_messages(np.array([[0, 1], [1, 1]]), 2, 2).dtype == bool
    for bad, n, words in [(np.zeros((2, 3)), 2, "shape (2, 3), expected (2, 2)"), (np.zeros((3, 2)), 2, "3 messages for 2"),
                          (np.full((2, 2), 2), 2, "only 0/1"), ("01x", 2, "string of 0 and 1")]:
        with pytest.raises(InriaError) as e:
            parse_messages(bad, n, 2)
        assert words in str(e.value) and "\n" not in str(e.value)


def test_images_are_checked_in_one_line():
    assert len(check_images([torch.rand(3, 8, 8), torch.rand(3, 9, 7)])) == 2
    for bad, words in [(torch.rand(1, 4, 8, 8), "RGBA"), (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "float"),
                       (torch.rand(1, 3, 4, 4), "at least 8x8"), ([], "no images"), ("x", "tensor")]:
        with pytest.raises(InriaError) as e:
            check_images(bad, 8)
        assert words in str(e.value) and "\n" not in str(e.value)


def test_text_is_eight_bits_per_byte():
    bits = text_to_bits("Hi", 24)
    assert bits[:16].astype(int).tolist() == [0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1] and not bits[16:].any()
    assert bits_to_text(bits) == "Hi"
    assert bits_to_text(text_to_bits("é")) == "é"  # UTF-8, two bytes
    with pytest.raises(InriaError, match="needs 24 bits"):
        text_to_bits("abc", 16)


def test_backbone_features_default_refuses_by_name():
    from inria.interfaces.backbone import Backbone

    class NoGrad(Backbone):
        name = "nograd"
        module = None

        def embed(self, images):
            return np.zeros((len(images), 2), np.float32)

        def classify(self, images):
            return torch.zeros(len(images), 2)

    with pytest.raises(InriaError) as e:
        NoGrad().features(torch.rand(1, 3, 8, 8))
    assert "backbone 'nograd' gives no differentiable features" in str(e.value) and "\n" not in str(e.value)
