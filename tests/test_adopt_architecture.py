"""inria.modeldir.adopt_architecture: a trained model's architecture fields fill a config's defaults."""
import dataclasses

import pytest

from inria.errors import InriaError
from inria.modeldir import adopt_architecture


@dataclasses.dataclass
class Cfg:
    width: int = 8
    depth: int = 2
    lr: float = 0.1

    def validate(self):
        if self.width < 1:
            raise ValueError("width must be positive")


def test_defaults_follow_the_card_and_conflicts_are_named(tmp_path):
    card = {"implementation": "x", "config": {"width": 32, "depth": 2, "lr": 0.5}}
    got = adopt_architecture(Cfg(lr=0.3), tmp_path, ("width", "depth"), card=card)
    assert (got.width, got.depth, got.lr) == (32, 2, 0.3)  # lr is not an architecture field
    same = Cfg(width=32)
    assert adopt_architecture(same, tmp_path, ("width", "depth"), card=card) is same
    with pytest.raises(InriaError, match="has width=32, the config asks for 16"):
        adopt_architecture(Cfg(width=16), tmp_path, ("width",), card=card)


def test_reads_the_card_of_a_directory(tmp_path):
    import yaml

    (tmp_path / "card.yaml").write_text(yaml.safe_dump({"implementation": "x", "config": {"depth": 5}}))
    assert adopt_architecture(Cfg(), tmp_path, ("depth",)).depth == 5
