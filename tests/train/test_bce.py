import pytest
import torch
import torch.nn.functional as F

from inria.errors import InriaError
from inria.train.objectives import BinaryCrossEntropy


class Fixed(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits


def test_class_indices_become_one_hot():
    logits = torch.randn(4, 5)
    y = torch.tensor([0, 3, 4, 1])
    loss, metrics = BinaryCrossEntropy()(Fixed(logits), (torch.zeros(4), y))
    assert torch.allclose(loss, F.binary_cross_entropy_with_logits(logits, F.one_hot(y, 5).float()))
    assert metrics["acc"] == (logits.argmax(-1) == y).float().mean()


def test_mixup_targets_are_binarised_both_classes_present():
    logits = torch.randn(2, 4)
    soft = torch.tensor([[0.7, 0.3, 0.0, 0.0], [0.0, 0.0, 0.1, 0.9]])
    loss, _ = BinaryCrossEntropy()(Fixed(logits), (torch.zeros(2), soft))
    hard = torch.tensor([[1.0, 1.0, 0, 0], [0, 0, 1.0, 1.0]])
    assert torch.allclose(loss, F.binary_cross_entropy_with_logits(logits, hard))
    soft_loss, _ = BinaryCrossEntropy(threshold=None)(Fixed(logits), (torch.zeros(2), soft))
    assert torch.allclose(soft_loss, F.binary_cross_entropy_with_logits(logits, soft))


def test_label_smoothing_with_binarisation_is_refused():
    smoothed = torch.full((2, 4), 0.025)
    smoothed[0, 0] = smoothed[1, 1] = 0.925
    with pytest.raises(InriaError, match="label smoothing must be 0"):
        BinaryCrossEntropy()(Fixed(torch.randn(2, 4)), (torch.zeros(2), smoothed))


def test_bad_targets():
    with pytest.raises(InriaError, match=r"labels must be in \[0, 4\)"):
        BinaryCrossEntropy()(Fixed(torch.randn(2, 4)), (torch.zeros(2), torch.tensor([0, 7])))
    with pytest.raises(InriaError, match="targets of shape"):
        BinaryCrossEntropy()(Fixed(torch.randn(2, 4)), (torch.zeros(2), torch.zeros(2, 3)))
