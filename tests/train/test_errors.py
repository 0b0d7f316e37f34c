"""Bad input gets one line naming what is wrong and what would be accepted."""
import math

import pytest
import torch

from inria.context import StepContext
from inria.errors import InriaError
from inria.train import TensorData, TrainConfig, Trainer


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def data(n=32):
    g = torch.Generator().manual_seed(0)
    return TensorData(torch.randn(n, 4, generator=g), torch.randint(0, 2, (n,), generator=g))


class NanAt:
    """Cross-entropy, but NaN at the given (0-based) steps."""

    def __init__(self, steps):
        self.steps = set(steps)

    def __call__(self, model, batch, ctx):
        loss = torch.nn.functional.cross_entropy(model(batch[0]), batch[1])
        if ctx.step in self.steps:
            loss = loss * float("nan")
        return loss, {}


def one_line(e):
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_nan_loss_stops_naming_the_step_and_the_last_good_checkpoint(tmp_path):
    ctx = StepContext.standalone(tmp_path)
    t = Trainer(mlp(), data(), TrainConfig(epochs=3, batch_size=8, checkpoint_every=2), ctx=ctx, objective=NanAt([4]))
    with pytest.raises(InriaError) as e:
        t.fit()
    msg = one_line(e)
    assert "non-finite loss (nan) at step 5 of 12" in msg
    assert f"last good checkpoint: {ctx.checkpoint_dir / 'last.pt'} (step 4)" in msg and "skip_nan" in msg
    # nothing of the bad step reached the weights: the checkpoint equals the model
    from inria.train.checkpoint import load

    saved = load(ctx.checkpoint_dir / "last.pt")["model"]
    assert all(torch.equal(saved[k], v) for k, v in t.module.state_dict().items())


def test_nan_before_any_checkpoint_says_so(tmp_path):
    t = Trainer(mlp(), data(), TrainConfig(epochs=1, batch_size=8), objective=NanAt([0]))
    with pytest.raises(InriaError, match="step 1 of 4 .*no checkpoint was written yet"):
        t.fit()


def test_skip_nan_skips_the_step_and_keeps_training(tmp_path):
    t = Trainer(mlp(), data(), TrainConfig(epochs=2, batch_size=8, skip_nan=True, log_every=100),
                ctx=StepContext.standalone(tmp_path), objective=NanAt([1, 5]))
    out = t.fit()
    assert out["skipped_steps"] == 2 and out["steps"] == 8 and math.isfinite(out["loss"])
    assert all(torch.isfinite(p).all() for p in t.module.parameters())


def test_batch_larger_than_dataset():
    with pytest.raises(InriaError) as e:
        Trainer(mlp(), data(10), TrainConfig(batch_size=16))
    assert one_line(e).startswith("train.batch_size: batch_size 16 is larger than the dataset (10 items)")
    assert "drop_last: false" in str(e.value)
    # with drop_last false the single short batch is a valid epoch
    out = Trainer(mlp(), data(10), TrainConfig(batch_size=16, drop_last=False)).fit()
    assert out["steps"] == 1


class MixedSizes(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        side = 8 if i % 2 else 6
        return torch.rand(3, side, side), i % 2


@pytest.mark.parametrize("workers", [0, 1])
def test_mixed_image_sizes_without_collate_rule(workers):
    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))
    t = Trainer(model, MixedSizes(), TrainConfig(batch_size=4, num_workers=workers))
    with pytest.raises(InriaError) as e:
        t.fit()
    msg = one_line(e)
    assert "mixed sizes in one batch" in msg and "collate_fn" in msg
    assert "[3, 8, 8]" in msg and "[3, 6, 6]" in msg


def test_mixed_sizes_with_a_collate_rule_train():
    def collate(samples):
        imgs = torch.stack([torch.nn.functional.interpolate(x[None], size=8)[0] for x, _ in samples])
        return imgs, torch.tensor([y for _, y in samples])

    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))
    assert Trainer(model, MixedSizes(), TrainConfig(batch_size=4), collate_fn=collate).fit()["steps"] == 2


def test_empty_iterable_and_short_datasets():
    with pytest.raises(InriaError, match="the dataset is empty"):
        Trainer(mlp(), TensorData(torch.zeros(0, 4), torch.zeros(0)), TrainConfig(batch_size=1))

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            yield from ()

    with pytest.raises(InriaError, match="map-style dataset"):
        Trainer(mlp(), Stream(), TrainConfig())
    with pytest.raises(InriaError, match="accum 8 needs 8 batches per epoch, but the dataset gives 4"):
        Trainer(mlp(), data(32), TrainConfig(batch_size=8, accum=8))


@pytest.mark.parametrize("bad,match", [
    (lambda m, b, c: m(b[0]).sum(), "expected a \\(loss, metrics\\) pair"),
    (lambda m, b, c: (m(b[0]), {}), "loss of \\(8, 2\\), expected a scalar"),
    (lambda m, b, c: (torch.tensor(1.0), {}), "does not depend on any trainable parameter"),
    (lambda m, b, c: (m(b[0]).sum(), [1]), "metrics of type list"),
])
def test_malformed_objective_output(bad, match):
    with pytest.raises(InriaError, match=match):
        Trainer(mlp(), data(), TrainConfig(batch_size=8), objective=bad).fit()


def test_core_objective_rejects_unreadable_batches():
    ds = [{"pixels": torch.zeros(4), "cls": 0}] * 8
    with pytest.raises(InriaError, match="'images' \\(or 'inputs'\\) and 'labels'.*got keys \\['cls', 'pixels'\\]"):
        Trainer(mlp(), ds, TrainConfig(batch_size=4)).fit()
    with pytest.raises(InriaError, match="train.objective_args: objective 'cross_entropy' has no argument 'smoothing'; "
                                         "did you mean 'label_smoothing'"):
        Trainer(mlp(), data(), TrainConfig(batch_size=4, objective_args={"smoothing": 0.1}))
