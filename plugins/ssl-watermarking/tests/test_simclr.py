"""The SimCLR objective: NT-Xent against a hand computation, the views, and a short training that learns."""
import math

import pytest
import torch
import torch.nn.functional as F

from inria.errors import InriaError
from inria_ssl_watermarking.objective import SimCLR, Views, nt_xent


def test_nt_xent_matches_the_formula():
    torch.manual_seed(0)
    z = F.normalize(torch.randn(6, 5), dim=-1)
    t = 0.5
    loss, acc = nt_xent(z, t)
    sim = z @ z.t() / t
    want = 0.0
    for i in range(6):
        pos = (i + 3) % 6
        others = [j for j in range(6) if j != i]
        want += -sim[i, pos] + math.log(sum(math.exp(float(sim[i, j])) for j in others))
    assert abs(float(loss) - want / 6) < 1e-5
    perfect = F.normalize(torch.eye(3).repeat(2, 1), dim=-1)  # each view equals its pair
    assert float(nt_xent(perfect, 0.1)[1]) == 1.0


def test_views_and_bad_arguments():
    v = Views(size=24)
    out = v(torch.rand(4, 3, 40, 40), generator=torch.Generator().manual_seed(0))
    assert out.shape == (4, 3, 24, 24) and 0 <= float(out.min()) and float(out.max()) <= 1
    with pytest.raises(InriaError, match="objective_args.views.jpeg"):
        Views(jpeg=2)
    with pytest.raises(InriaError, match="temperature"):
        SimCLR(temperature=0)
    with pytest.raises(InriaError, match="even batch of at least 4"):
        nt_xent(torch.randn(3, 4), 0.2)


def test_a_short_training_learns_to_match_views():
    """100 steps on offline crops: the other view of each image is found well above chance (1 / 31)."""
    import inria
    from inria.data.offline import TrainImages

    torch.manual_seed(0)
    bb = inria.create("backbone", "ssl_resnet_cpu", checkpoint=None, crop=48)
    train = bb.config.train.replace(steps=100, batch_size=16, warmup_steps=5, log_every=20,
                                    objective_args={"temperature": 0.2, "views": {"size": 32, "jpeg": 0.0}})
    metrics = bb.fit_dataset(TrainImages(size=48, length=960, seed=0), config=train)
    assert metrics["steps"] == 100
    assert metrics["view_acc"] > 4 / 31, metrics  # chance is 1 / 31
    assert metrics["loss"] < math.log(31) - 0.3, metrics  # ln(31): the loss of features that know nothing
