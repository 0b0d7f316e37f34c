import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import inria
from inria.errors import InriaError


def test_loss_is_the_official_four_terms_at_weight_one_half():
    from inria_cosub.objective import CoSub

    torch.manual_seed(0)
    s1, s2 = torch.randn(5, 4), torch.randn(5, 4)
    y = F.one_hot(torch.tensor([0, 1, 2, 3, 0]), 4).float()
    bce = F.binary_cross_entropy_with_logits
    hand = 0.25 * (bce(s1, y) + bce(s2, y) + bce(s1, torch.sigmoid(s2)) + bce(s2, torch.sigmoid(s1)))
    assert torch.allclose(CoSub().loss(s1, s2, y), hand, atol=1e-6)
    # weight 0: only the supervised terms (their mean); weight 1: only co-training
    assert torch.allclose(CoSub(cotrain_weight=0.0).loss(s1, s2, y), 0.5 * (bce(s1, y) + bce(s2, y)), atol=1e-6)
    assert torch.allclose(CoSub(cotrain_weight=1.0).loss(s1, s2, y),
                          0.5 * (bce(s1, torch.sigmoid(s2)) + bce(s2, torch.sigmoid(s1))), atol=1e-6)


def test_soft_targets_are_detached():
    """The co-training terms push each half towards the other, never the teacher towards the student."""
    from inria_cosub.objective import CoSub

    s1 = torch.randn(3, 4, requires_grad=True)
    s2 = torch.randn(3, 4, requires_grad=True)
    y = torch.zeros(3, 4)
    CoSub(cotrain_weight=1.0).loss(s1, s2, y).backward()
    # d/ds1 of BCE(s1, sigmoid(s2)) = (sigmoid(s1) - sigmoid(s2)) / N: nothing flows through the target side
    n = s1.numel()
    assert torch.allclose(s1.grad, 0.5 * (torch.sigmoid(s1) - torch.sigmoid(s2)).detach() / n, atol=1e-6)
    assert torch.allclose(s2.grad, 0.5 * (torch.sigmoid(s2) - torch.sigmoid(s1)).detach() / n, atol=1e-6)


def test_the_two_halves_differ_under_drop_path_and_no_drop_path_is_refused():
    from inria_cosub.objective import CoSub

    torch.manual_seed(0)
    bb = inria.create("backbone", "deit3_digits", checkpoint=None, depth=2, drop_path=0.5)
    model = bb.module.train()
    x, y = torch.rand(8, 3, 32, 32), torch.arange(8) % 10
    s = model(torch.cat([x, x]))
    assert not torch.allclose(s[:8], s[8:])  # two submodels
    loss, metrics = CoSub()(model, (x, y))
    assert loss.ndim == 0 and torch.isfinite(loss) and 0 <= float(metrics["agreement"]) <= 1
    plain = inria.create("backbone", "deit3_digits", checkpoint=None, depth=2, drop_path=0.0).module.train()
    with pytest.raises(InriaError, match="no stochastic depth") as e:
        CoSub()(plain, (x, y))
    assert "\n" not in str(e.value) and "drop_path" in str(e.value)
    with pytest.raises(InriaError, match="no stochastic depth"):
        CoSub()(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)).train(), (x, y))


@pytest.mark.parametrize("bad", [-0.1, 1.5, "half", None])
def test_bad_cotrain_weight_is_one_line(bad):
    from inria_cosub.objective import CoSub

    with pytest.raises(InriaError, match="cotrain_weight") as e:
        CoSub(cotrain_weight=bad)
    assert "\n" not in str(e.value)


def test_a_short_cosub_training_learns_digits():
    from inria.data.images import digits

    xt, yt = digits("train", size=32)
    xs, ys = digits("test", size=32)
    torch.manual_seed(0)
    bb = inria.create("backbone", "deit3_digits", checkpoint=None, depth=2, drop_path=0.1,
                      train={"epochs": 8, "warmup_epochs": 1, "objective": "cosub", "seed": 0})
    bb.fit(xt, yt)
    top1 = float((bb.classify(xs).argmax(-1) == torch.as_tensor(ys)).float().mean())
    assert top1 > 0.4, top1  # chance is 0.1 (binomial std 0.016 on 360 images)
