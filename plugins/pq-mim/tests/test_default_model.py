"""The shipped default model: small, loadable offline, trained on the named split, and it compresses."""
from pathlib import Path

import pytest
import torch
import yaml

from inria_pq_mim.codec import DEFAULT_DIR

pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "weights.safetensors").is_file(),
                                reason="default model not built (python -m inria_pq_mim.train_default)")


def test_size_and_card():
    size = sum(p.stat().st_size for p in Path(DEFAULT_DIR).iterdir())
    assert size <= 20e6
    card = yaml.safe_load((DEFAULT_DIR / "card.yaml").read_text())
    extra = card["extra"]
    assert extra["trained_by"].startswith("python -m inria_pq_mim.train_default")
    train, test = set(extra["train_split"]["photos"]), set(extra["test_split"]["photos"])
    assert not train & test
    # near-duplicates on one side: the stereo pair is all in training
    assert {"motorcycle_left", "motorcycle_right"} <= train


def test_default_model_rate_distortion_on_a_test_crop():
    import inria
    from inria.data.images import samples
    from inria.eval.metrics import psnr

    codec = inria.create("codec", "pq_mim")
    img = samples(["astronaut"])[0][0][:, 64:192, 192:320].contiguous()  # a test-split image, never trained on
    points = []
    for m in (2, 16):
        data = codec.with_overrides(active_subquantizers=m).compress(img)
        points.append((len(data), float(psnr([img], [codec.decompress(data)])[0])))
    (small, q_small), (big, q_big) = points
    assert small < big
    assert q_big > q_small + 1.0  # more sub-quantizers, more detail
    assert q_big > 20.0
