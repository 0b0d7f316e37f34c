"""The shipped digits model (trained by `python -m inria_deit3.train_digits`) and its retraining."""
import json
from pathlib import Path

import numpy as np
import pytest

import inria
import inria_deit3
from inria.context import StepContext
from inria.data.images import digits

SHIPPED = Path(inria_deit3.__file__).parent / "weights" / "digits"


@pytest.fixture(scope="module")
def held_out():
    return digits("test", size=32)


def test_shipped_model_is_small_and_self_describing():
    weights = SHIPPED / "weights.safetensors"
    assert weights.stat().st_size <= 20 * 2**20
    from inria.modeldir import read_card

    card = read_card(SHIPPED)
    assert card["implementation"] == "deit3_digits" and card["config"]["patch_size"] == 4
    results = json.loads((SHIPPED / "results.json").read_text())
    assert results["deit3_bce_lamb"]["top1"] >= 0.95 and "ce_adamw" in results


def test_shipped_model_classifies_held_out_digits(held_out, tmp_path):
    x, y = held_out
    b = inria.create("backbone", "deit3_digits", checkpoint="default")
    top1 = float((b.classify(x).argmax(-1).numpy() == y).mean())
    assert top1 >= 0.95
    # the same figure the training recorded (same model, same split)
    recorded = json.loads((SHIPPED / "results.json").read_text())["deit3_bce_lamb"]["top1"]
    assert abs(top1 - recorded) <= 0.003
    # the quickstart path: evaluate verb (top-1 and k-NN on class-token embeddings)
    m = b.evaluate_step(StepContext.standalone(tmp_path), images=x, labels=y, knn_k=10)["metrics"]
    assert m["top1"] == pytest.approx(top1) and m["knn10"] >= 0.9
    v = b.embed(x[:5])
    assert v.shape == (5, 96) and v.dtype == np.float32


def test_model_directory_loads_as_a_step_model(held_out):
    from inria.registry import get_registry

    cls = get_registry().load("backbone", "deit3_digits")
    b = cls.load(SHIPPED)
    x, y = held_out
    assert float((b.classify(x[:100]).argmax(-1).numpy() == y[:100]).mean()) >= 0.9


@pytest.mark.slow
def test_retraining_reaches_95_percent(tmp_path):
    from inria_deit3.train_digits import main

    results = main(["--no-ship", "--out", str(tmp_path), "--json", str(tmp_path / "results.json")])
    assert results["deit3_bce_lamb"]["top1"] >= 0.95
    assert results["ce_adamw"]["top1"] > 0.5  # the comparison run trains too
    assert json.loads((tmp_path / "results.json").read_text()) == results
