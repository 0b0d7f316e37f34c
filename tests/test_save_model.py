"""The base classes' fit/build verbs write the model directory on rank 0 only (torch.distributed).

One process: the rank function of :mod:`inria.distributed` is monkeypatched.
"""
import numpy as np
import pytest
import torch

from inria import distributed
from inria.context import StepContext
from inria.interfaces import Backbone, Codec, Curator, Index, Watermarker


class FakeCodec(Codec):
    def compress(self, image):
        return b""

    def decompress(self, data):
        return torch.zeros(3, 1, 1)


class FakeCurator(Curator):
    def fit(self, embeddings, ctx=None):
        return {"rows": len(embeddings)}

    def sample(self, n):
        return np.arange(n)


class FakeIndex(Index):
    def train(self, x):
        pass

    def add(self, x, ids=None):
        self.n = len(x)

    def search(self, q, k):
        return np.zeros((len(q), k)), np.zeros((len(q), k), dtype=np.int64)

    @property
    def ntotal(self):
        return self.n


class FakeWatermarker(Watermarker):
    def embed(self, images, messages=None):
        return images, messages

    def detect(self, images, reference=None):
        raise NotImplementedError


class FakeBackbone(Backbone):
    module = None

    def embed(self, images):
        return np.zeros((len(images), 2), np.float32)

    def classify(self, images):
        return torch.zeros(len(images), 2)

    def fit(self, images, labels, ctx=None):
        return {}


x = torch.rand(2, 3, 4, 4)
v = np.zeros((4, 2), np.float32)
STEPS = {  # a fit (or build) verb of each interface, called as the runner would
    "codec": (FakeCodec, lambda c, ctx: c.fit_step(ctx, images=x)),
    "curator": (FakeCurator, lambda c, ctx: c.fit_step(ctx, vectors=v)),
    "index": (FakeIndex, lambda c, ctx: c.build_step(ctx, vectors=v)),
    "watermarker": (FakeWatermarker, lambda c, ctx: c.fit_step(ctx, images=x)),
    "backbone": (FakeBackbone, lambda c, ctx: c.fit_step(ctx, images=x, labels=np.zeros(2, np.int64))),
}


@pytest.fixture
def barriers(monkeypatch):
    calls = []
    monkeypatch.setattr(distributed, "barrier", lambda: calls.append(distributed.rank()))
    return calls


@pytest.mark.parametrize("interface", sorted(STEPS))
@pytest.mark.parametrize("rank", [0, 1])
def test_only_rank_0_writes_the_model_and_every_rank_waits(tmp_path, monkeypatch, barriers, interface, rank):
    monkeypatch.setattr(distributed, "rank", lambda: rank)
    cls, call = STEPS[interface]
    ctx = StepContext.standalone(tmp_path, rank=rank, world_size=2)
    out = call(cls(), ctx)
    assert out["model"] == tmp_path / "model"  # the same path on every rank
    assert (tmp_path / "model" / "card.yaml").is_file() == (rank == 0)
    assert barriers == [rank]


def test_the_distributed_rank_alone_decides_when_the_context_says_0(tmp_path, monkeypatch, barriers):
    """A standalone context inside a torchrun script says rank 0 on every rank: torch.distributed decides."""
    monkeypatch.setattr(distributed, "rank", lambda: 3)
    path = FakeCodec().save_model(StepContext.standalone(tmp_path), name="m")
    assert path == tmp_path / "m" and not path.exists() and barriers == [3]


def test_single_process_writes_without_a_process_group(tmp_path):
    assert not distributed.is_initialized()
    out = FakeCurator().fit_step(StepContext.standalone(tmp_path), vectors=v)
    assert (out["model"] / "card.yaml").is_file() and out["metrics"] == {"rows": 4}
