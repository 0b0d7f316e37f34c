"""inria.eval.bjontegaard: exact values on curves whose deltas are known in closed form."""
import numpy as np
import pytest

from inria.eval.bjontegaard import bd_psnr, bd_rate, overlap

RATES = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
PSNR = 25 + 6 * np.log2(RATES / 0.1) ** 0.9  # a concave, increasing curve


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_identical_curves_have_zero_deltas(method):
    assert bd_psnr(RATES, PSNR, RATES, PSNR, method) == pytest.approx(0, abs=1e-12)
    assert bd_rate(RATES, PSNR, RATES, PSNR, method) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_constant_quality_shift_is_the_bd_psnr(method):
    assert bd_psnr(RATES, PSNR, RATES, PSNR + 1.25, method) == pytest.approx(1.25, abs=1e-9)
    assert bd_psnr(RATES, PSNR + 1.25, RATES, PSNR, method) == pytest.approx(-1.25, abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_constant_rate_factor_is_the_bd_rate(method):
    # B reaches every quality with 10 % fewer bits: exactly -10 %
    assert bd_rate(RATES, PSNR, RATES * 0.9, PSNR, method) == pytest.approx(-10.0, abs=1e-6)
    assert bd_rate(RATES, PSNR, RATES * 2, PSNR, method) == pytest.approx(100.0, abs=1e-6)


def test_only_the_overlap_counts_and_order_does_not_matter():
    # straight lines in log-rate: q = 30 + 10 log10(r) (A) and q = 31 + 10 log10(r) (B) on a shorter range
    ra, rb = np.array([0.05, 0.1, 0.3, 1.0]), np.array([0.2, 0.5, 0.35])
    qa, qb = 30 + 10 * np.log10(ra), 31 + 10 * np.log10(rb)
    assert bd_psnr(ra, qa, rb, qb) == pytest.approx(1.0, abs=1e-9)
    # 1 dB at slope 10 dB/decade = 10**-0.1 of the rate
    assert bd_rate(ra, qa, rb, qb) == pytest.approx((10 ** -0.1 - 1) * 100, abs=1e-6)
    assert overlap(ra, rb) == (0.2, 0.5)


def test_disjoint_curves_and_bad_input_are_errors():
    with pytest.raises(ValueError, match="do not overlap"):
        bd_psnr([0.1, 0.2], [20, 22], [0.5, 0.9], [30, 31])
    with pytest.raises(ValueError, match="at least 2"):
        bd_psnr([0.1], [20], [0.1, 0.2], [20, 21])
    with pytest.raises(ValueError, match="> 0"):
        bd_rate([0, 0.2], [20, 22], [0.1, 0.2], [20, 21])
    with pytest.raises(ValueError, match="4 points"):
        bd_psnr([0.1, 0.2], [20, 22], [0.1, 0.2], [21, 23], method="cubic")
