"""The two watermarkers' verbs, on the shipped default models."""
import numpy as np
import pytest
import torch

import inria
from inria.context import StepContext
from inria_stable_signature.data import held_out_crops


@pytest.fixture(scope="module")
def photos():
    return held_out_crops(64, 3, seed=5)


def test_evaluate_reports_per_attack_rows_and_quality(photos, tmp_path):
    ss = inria.create("watermarker", "stable_signature")
    out = ss.evaluate_step(StepContext.standalone(tmp_path), photos, attacks=["none", "jpeg_50", "crop_0.1"], examples=2)
    m = out["metrics"]
    assert [r["attack"] for r in m["attacks"]] == ["none", "jpeg_50", "crop_0.1"]
    for key in ("psnr", "ssim", "psnr_vs_decode", "ssim_vs_decode", "bit_accuracy/none", "tpr/jpeg_50",
                "log10_p/crop_0.1", "threshold"):
        assert key in m, key
    assert m["threshold"] == 41
    row = m["attacks"][0]
    assert {"bit_accuracy", "tpr", "median_log10_p", "fpr_empirical", "bit_accuracy_unmarked"} <= set(row)
    assert len(out["images"]) == 6    # original, watermarked, amplified difference, for 2 images


def test_hidden_embed_detect_and_identification(photos):
    hd = inria.create("watermarker", "hidden")
    msgs = hd.random_messages(3, seed=4)
    marked, returned = hd.embed(photos, msgs)
    assert (returned == msgs).all() and marked.shape == photos.shape
    assert float((marked - photos).abs().max()) <= hd.config.scaling_w * 0.229 + 1e-5
    d = hd.detect(marked, msgs)
    assert d.bits.shape == (3, 48) and np.isfinite(d.p_value).all()
    blind = hd.detect(marked)             # no reference: nothing is tested
    assert not blind.detected.any() and np.isnan(blind.bit_accuracy).all()
    keys = ["".join("1" if b else "0" for b in row) for row in msgs]
    ident = inria.create("watermarker", "hidden", keys=keys).detect(marked)
    assert ident.identity is not None and ident.extra["n_keys"] == 3


def test_embed_keeps_list_inputs_of_mixed_sizes():
    ss = inria.create("watermarker", "stable_signature")
    imgs = [torch.rand(3, 40, 56), torch.rand(3, 33, 33)]
    marked, keys = ss.embed(imgs)
    assert isinstance(marked, list) and [m.shape for m in marked] == [i.shape for i in imgs]
    assert keys.shape == (2, 48) and (keys == keys[0]).all()
