"""Training through the core engine learns digits; bad configs and inputs are one-line errors."""
import pytest
import torch

import inria
from inria.context import StepContext
from inria.errors import InriaError


def test_parallel_vit_learns_digits(make, tmp_path):
    from inria.data.images import digits

    x, y = digits("train", size=32)
    xt, yt = digits("test", size=32)
    torch.manual_seed(0)
    # AdamW + cross-entropy: LAMB + BCE (the default) needs more than these 6 epochs to leave chance
    bb = make(num_classes=10, embed_dim=48, train={"epochs": 6, "batch_size": 16, "warmup_epochs": 0.5, "optimizer": "adamw", "lr": 1e-3,
                                                   "objective": "cross_entropy", "augmentation": "none"})
    bb.fit(x, y, ctx=StepContext.standalone(tmp_path))
    acc = float((bb.classify(xt).argmax(-1) == yt).float().mean())
    assert acc > 0.6  # chance is 0.1


@pytest.mark.parametrize("field,value,words", [
    ("patch_size", 6, "multiple of 4"), ("img_size", 30, "not a multiple of patch_size"),
    ("parallel", 0, "parallel must be >= 1"), ("stem", "conv", "stem"),
])
def test_bad_config_is_one_line(field, value, words):
    args = {"stem": "hmlp", "img_size": 36} if field == "patch_size" else {"stem": "hmlp"} if field != "stem" else {}
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "three_things_digits_6x2", **{**args, field: value})
    assert words in str(e.value) and "\n" not in str(e.value)


def test_bad_images_and_labels_are_one_line(make):
    bb = make()
    for images, words in ((torch.rand(2, 4, 8, 8), r"expected \(3 or 1, H, W\)"), ([], "non-empty"),
                          (torch.full((1, 3, 8, 8), float("nan")), "NaN")):
        with pytest.raises(InriaError, match=words):
            bb.embed(images)
    with pytest.raises(InriaError, match="outside"):
        bb.fit(torch.rand(4, 3, 32, 32), [0, 1, 2, 9])
