import numpy as np
import pytest

from inria import InriaError
from inria_stable_signature import detection as det


def test_threshold_for_48_bits_at_1e_6_is_41():
    assert det.threshold(48, 1e-6) == 41
    assert det.threshold(48, 1e-10) == 45


def test_pvalue_and_decision_at_the_threshold():
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2, 48).astype(bool)
    bits = np.stack([key.copy() for _ in range(3)])
    bits[1, :8] ^= True   # 40 matches: not flagged
    bits[2, :7] ^= True   # 41 matches: flagged, p = 3.1e-7
    d = det.binomial_test(bits, key, fpr=1e-6)
    assert list(d.score) == [48, 40, 41]
    assert list(d.detected) == [True, False, True]
    assert d.p_value[2] == pytest.approx(3.1e-7, rel=0.05)
    assert d.p_value[0] == pytest.approx(2.0 ** -48)
    assert d.bit_accuracy[1] == pytest.approx(40 / 48)


def test_unmarked_bits_are_rarely_flagged():
    rng = np.random.default_rng(1)
    key = rng.integers(0, 2, 48).astype(bool)
    bits = rng.integers(0, 2, (20000, 48)).astype(bool)
    d = det.binomial_test(bits, key, fpr=1e-3)
    # P(M >= threshold) <= 1e-3 by construction; 20000 draws stay well within 3e-3
    assert d.detected.mean() <= 3e-3
    assert abs(d.bit_accuracy.mean() - 0.5) < 0.01


def test_identification_corrects_for_the_number_of_keys():
    rng = np.random.default_rng(2)
    keys = rng.integers(0, 2, (1000, 48)).astype(bool)
    bits = keys[[3, 500]].copy()
    bits[1, :3] ^= True   # 45 matches with key 500 (p ~ 1.7e-11, x1000 keys still < 1e-6)
    d = det.binomial_test(bits, keys, fpr=1e-6, identify=True)
    assert list(d.identity) == [3, 500]
    raw = d.extra["raw_p_value"][1]
    assert d.p_value[1] == pytest.approx(1 - (1 - raw) ** 1000, rel=1e-6)
    assert d.extra["threshold"] > det.threshold(48, 1e-6)   # 1000 keys need more matching bits
    # 41 matches pass for one key but not among 1000 keys
    weak = keys[[7]].copy()
    weak[0, :7] ^= True
    assert det.binomial_test(weak, keys[7], fpr=1e-6).detected[0]
    assert det.binomial_test(weak, keys, fpr=1e-6, identify=True).identity[0] == -1


@pytest.mark.parametrize("key, msg", [("0101", "has 4 bits, expected 48"), ("01" * 23 + "2x", "0 and 1"),
                                      ([0, 1, 2] * 16, "0/1")])
def test_bad_keys_are_one_line_errors(key, msg):
    with pytest.raises(InriaError, match=msg) as e:
        det.parse_key(key, 48)
    assert "\n" not in str(e.value)


def test_messages_of_wrong_shape():
    with pytest.raises(InriaError, match="shape"):
        det.parse_messages(np.zeros((2, 32), bool), 2, 48)
    with pytest.raises(InriaError, match="3 messages for 2 images"):
        det.parse_messages(np.zeros((3, 48), bool), 2, 48)
