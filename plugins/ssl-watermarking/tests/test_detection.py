"""The statistical tests: hypercone p-values and threshold, orthonormal carriers, bit decoding."""
import numpy as np
import pytest
import torch

import inria
from inria.eval.metrics import cosine_pvalue


def zero_bit(**kw):
    return inria.create("watermarker", "ssl_zero_bit", backbone_args={"checkpoint": None}, normlayer=None, **kw)


def test_threshold_has_the_target_false_positive_rate():
    z = zero_bit(fpr=1e-3)
    c = z.threshold()
    assert abs(cosine_pvalue(c, z.dim) - 1e-3) < 1e-9
    # Monte Carlo: random directions in 512-d fall in the double cone at the rate the beta function says
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200_000, z.dim, generator=g, dtype=torch.float64)
    a = z.carrier()
    cos = ((x @ a.t()).squeeze(-1) / x.norm(dim=-1)).abs()
    rate = float((cos > c).double().mean())
    assert 0.5e-3 < rate < 1.6e-3


def test_r_is_positive_exactly_inside_the_cone():
    z = zero_bit()
    a = z.carrier().squeeze(0)
    c = z.threshold()
    rho = 1 + (1 - c ** 2) / c ** 2
    for cos in (c - 0.01, c + 0.01):
        orth = torch.randn(z.dim, dtype=torch.float64)
        orth -= (orth @ a) * a
        orth /= orth.norm()
        x = cos * a + np.sqrt(1 - cos ** 2) * orth
        r = rho * float(x @ a) ** 2 - float(x @ x)
        assert (r > 0) == (cos > c)


def test_carriers_are_orthonormal_and_keyed_by_seed():
    m = inria.create("watermarker", "ssl_multi_bit", bits=30, backbone_args={"checkpoint": None}, normlayer=None)
    a = m.carriers()
    assert torch.allclose(a @ a.t(), torch.eye(30, dtype=a.dtype), atol=1e-10)
    other = inria.create("watermarker", "ssl_multi_bit", bits=30, carrier_seed=1, backbone_args={"checkpoint": None},
                         normlayer=None).carriers()
    assert not torch.allclose(a, other)
    assert torch.allclose(a, m.carriers())  # the same seed gives the same key


def test_multi_bit_decodes_signs_and_tests_with_the_binomial_tail(monkeypatch):
    m = inria.create("watermarker", "ssl_multi_bit", bits=30, backbone_args={"checkpoint": None}, normlayer=None)
    a = m.carriers()
    msgs = np.random.default_rng(0).integers(0, 2, (3, 30)).astype(bool)
    feats = torch.from_numpy((msgs * 2.0 - 1)) @ a  # a feature whose projections have the message's signs
    monkeypatch.setattr(m, "_decode_features", lambda images: feats)
    d = m.detect(torch.zeros(3, 3, 32, 32), msgs)
    assert (d.bits == msgs).all() and (d.bit_accuracy == 1).all()
    assert np.allclose(d.p_value, 2.0 ** -30) and d.detected.all()
    flipped = msgs.copy()
    flipped[:, :12] ^= True  # 18 of 30 match: p ~ 0.18, not detected
    d = m.detect(torch.zeros(3, 3, 32, 32), flipped)
    assert np.allclose(d.bit_accuracy, 0.6) and not d.detected.any()
    d = m.detect(torch.zeros(3, 3, 32, 32))  # no reference: nothing to test
    assert (d.p_value == 1).all() and not d.detected.any() and (d.bits == msgs).all()


def test_text_messages_round_trip():
    m = inria.create("watermarker", "ssl_multi_bit", bits=32, backbone_args={"checkpoint": None}, normlayer=None)
    from inria.ops.watermark import text_to_bits

    bits = text_to_bits("inr!", 32)
    monkeypatch_feats = torch.from_numpy(bits * 2.0 - 1)[None] @ m.carriers()
    m._decode_features = lambda images: monkeypatch_feats
    assert m.decoded_text(m.detect(torch.zeros(1, 3, 32, 32))) == ["inr!"]
    with pytest.raises(inria.InriaError, match="needs 40 bits"):
        m.embed_text(torch.zeros(1, 3, 32, 32), "inria")
