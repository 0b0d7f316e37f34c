import dataclasses
from typing import Literal, Optional

import pytest

from inria.config import build, describe, doc
from inria.errors import InriaError


@dataclasses.dataclass
class Cfg:
    bits: int = doc(48, "message length")
    fpr: float = doc(1e-6, "target FPR")
    metric: Literal["l2", "ip"] = doc("l2", "distance")
    size: Optional[int] = doc(None, "side")
    levels: list[int] = doc([100, 10], "clusters per level")
    name: str = doc("x", "a name")

    def validate(self):
        if self.bits < 1:
            raise ValueError(f"bits {self.bits} must be >= 1")


def test_defaults_and_coercion():
    c = build(Cfg, {"fpr": "1e-10", "levels": [5.0, 2]})
    assert c.fpr == 1e-10 and c.levels == [5, 2] and c.bits == 48


@pytest.mark.parametrize("values, message", [
    ({"bitz": 3}, "unknown key 'bitz'; did you mean 'bits'?"),
    ({"bits": "many"}, "with.bits: 'many' is not an int"),
    ({"metric": "cosin"}, "accepted: ip, l2"),
    ({"levels": [1, "a"]}, "with.levels[1]"),
    ({"bits": 0}, "bits 0 must be >= 1"),
    ({"bits": True}, "is not an int"),
])
def test_errors_name_the_field(values, message):
    with pytest.raises(InriaError) as e:
        build(Cfg, values)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_describe_lists_docs():
    rows = {r["name"]: r for r in describe(Cfg)}
    assert rows["bits"]["default"] == 48 and rows["bits"]["doc"] == "message length"
    assert rows["metric"]["type"] == "'l2' | 'ip'"


@dataclasses.dataclass
class Inner:
    lr: float = 1e-3
    optimizer: str = "adamw"
    epochs: int = 1


@dataclasses.dataclass
class Outer:
    train: Inner = dataclasses.field(default_factory=lambda: Inner(optimizer="lamb", epochs=5))


def test_partial_nested_block_keeps_the_fields_own_defaults():
    c = build(Outer, {"train": {"lr": 0.1}})
    assert (c.train.lr, c.train.optimizer, c.train.epochs) == (0.1, "lamb", 5)
    with pytest.raises(InriaError, match="unknown key 'lrr'"):
        build(Outer, {"train": {"lrr": 0.1}})
