"""Backbone.load: the card's config, then the directory's weights through the backbone's load_checkpoint."""
import dataclasses

import numpy as np
import torch

from inria.interfaces import Backbone


@dataclasses.dataclass
class TinyConfig:
    width: int = 3
    checkpoint: str | None = None


class Tiny(Backbone):
    Config = TinyConfig
    seen: list = []

    def __init__(self, config=None, **kw):
        super().__init__(config, **kw)
        Tiny.seen.append(self.config.checkpoint)  # what the constructor was asked to read
        self._module = torch.nn.Linear(self.config.width, 2)

    @property
    def module(self):
        return self._module

    def embed(self, images):
        return np.zeros((len(images), 2), np.float32)

    def classify(self, images):
        return torch.zeros(len(images), 2)

    def save(self, path):
        from inria.modeldir import save_weights

        path = super().save(path)
        save_weights(path, self._module.state_dict())
        return path

    def load_checkpoint(self, source):
        from inria.modeldir import load_weights

        self._module.load_state_dict(load_weights(source))


class NoWeights(Tiny):
    load_checkpoint = None  # no weights reader: built from the card alone


def test_load_rebuilds_from_the_card_then_reads_the_weights(tmp_path):
    a = Tiny(width=5, checkpoint="somewhere")
    a.save(tmp_path / "m")
    Tiny.seen.clear()
    b = Tiny.load(tmp_path / "m")
    assert b.config.width == 5 and Tiny.seen == [None]  # the constructor read nothing; load_checkpoint did
    assert torch.equal(b.module.weight, a.module.weight)
    assert NoWeights.load(tmp_path / "m", checkpoint="x").config.checkpoint == "x"  # Component.load: card + overrides
