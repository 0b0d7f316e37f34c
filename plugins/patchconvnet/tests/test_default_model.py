import numpy as np
import pytest
import torch

import inria
from inria.data.images import digits


@pytest.fixture(scope="module")
def test_split():
    x, y = digits("test", size=32)
    return x, np.asarray(y)


def test_shipped_digits_model_reaches_its_card_accuracy(test_split):
    x, y = test_split
    bb = inria.create("backbone", "patchconvnet_digits")
    top1 = float((bb.classify(x).argmax(-1).numpy() == y).mean())
    assert top1 >= 0.965  # the card says 0.9778; deit3_digits is 0.969
    emb = bb.embed(x[:5])
    assert emb.shape == (5, bb.config.embed_dim) and np.isfinite(emb).all()


def test_attention_maps_are_the_class_query_softmax(test_split):
    x, _ = test_split
    bb = inria.create("backbone", "patchconvnet_digits")
    maps, logits = bb.attention_maps(x[:8])
    assert maps.shape == (8, 8, 8) and logits.shape == (8, 10)
    assert (maps >= 0).all()
    total = maps.reshape(8, -1).sum(1)
    assert (total <= 1 + 1e-5).all() and (total > 0.05).all()  # the rest is the weight on the class token
    # the logits are the classifier's: same argmax as classify
    assert (logits.argmax(-1) == bb.classify(x[:8]).argmax(-1).numpy()).all()


def test_a_short_fit_learns_digits_above_chance(test_split):
    x, y = test_split
    xt, yt = digits("train", size=32)
    torch.manual_seed(0)
    bb = inria.create("backbone", "patchconvnet_digits", depth=2, embed_dim=64, checkpoint=None,
                      train={"epochs": 8, "batch_size": 16, "lr": 4e-3, "warmup_epochs": 1})
    bb.fit(xt, np.asarray(yt))
    top1 = float((bb.classify(x).argmax(-1).numpy() == y).mean())
    assert top1 > 0.4, top1  # chance is 0.1 (binomial std 0.016 on 360 images)


def test_features_are_embed_with_gradients_to_the_pixels():
    """Backbone.features: what pixel-optimising methods (SSL watermarking) call by name."""
    import inria
    import torch

    bb = inria.create("backbone", "patchconvnet_digits")
    x = torch.rand(2, 3, 40, 40, requires_grad=True)
    ft = bb.features(x)
    ft.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.allclose(ft.detach(), torch.from_numpy(bb.embed(x.detach())), atol=1e-4)
