"""PCA whitening in the official format: the official fit, the x D scaling on load, refusals."""
import pytest
import torch

from inria.errors import InriaError
from inria_ssl_watermarking.normlayer import fit_whitening, load_normlayer, save_normlayer


def test_whitening_decorrelates_with_the_official_scale(tmp_path):
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(16, 16, generator=g)
    feats = torch.randn(500, 16, generator=g) @ mix + 3.0
    w, b = fit_whitening(feats)
    y = feats @ w.t() + b
    assert y.mean(0).abs().max() < 1e-3
    # the official fit uses the un-normalised covariance: W (Fc^T Fc) W^T = I, i.e. each output has variance 1/N
    assert torch.allclose(y.t() @ y, torch.eye(16), atol=1e-3)
    for name in ("out16.pth", "out16.safetensors"):
        save_normlayer(tmp_path / name, w, b)
        layer = load_normlayer(tmp_path / name, dim=16)
        assert torch.allclose(layer.weight, 16 * w) and torch.allclose(layer.bias, 16 * b)  # x D on load
        assert not layer.weight.requires_grad


def test_the_official_file_format_loads(tmp_path):
    """out2048_*.pth: torch.save({'weight': Parameter, 'bias': Parameter}) of a Linear(D, D)."""
    lin = torch.nn.Linear(8, 8)
    torch.save({"weight": lin.weight, "bias": lin.bias}, tmp_path / "out8_yfcc_orig.pth")
    layer = load_normlayer(tmp_path / "out8_yfcc_orig.pth", dim=8)
    assert torch.allclose(layer.weight, 8 * lin.weight.detach())


def test_refusals_are_one_line(tmp_path):
    save_normlayer(tmp_path / "n.safetensors", torch.eye(8), torch.zeros(8))
    with pytest.raises(InriaError) as e:
        load_normlayer(tmp_path / "n.safetensors", dim=512)
    assert "8-d features but the backbone gives 512-d" in str(e.value) and "\n" not in str(e.value)
    torch.save({"w": torch.eye(2)}, tmp_path / "bad.pth")
    with pytest.raises(InriaError, match="not a linear layer"):
        load_normlayer(tmp_path / "bad.pth", dim=2)
    with pytest.raises(InriaError, match="not found"):
        load_normlayer(tmp_path / "absent.safetensors", dim=2)


def test_shrinkage_floors_the_faint_components_and_keeps_the_dimension():
    g = torch.Generator().manual_seed(1)
    scales = torch.logspace(0, -3, 16)  # a collapsed spectrum: the last component 1e-3 of the first
    feats = torch.randn(2000, 16, generator=g) * scales
    w0, b0 = fit_whitening(feats)
    w1, b1 = fit_whitening(feats, shrinkage=0.01)
    assert w1.shape == w0.shape == (16, 16)
    v0 = (feats @ w0.t() + b0).var(0)  # full whitening: every component at the same variance
    v1 = (feats @ w1.t() + b1).var(0)
    assert v0.max() / v0.min() < 1.1
    assert v1.max() / v1.min() > 50  # the faint components stay faint instead of being blown up
    with pytest.raises(InriaError, match="shrinkage"):
        fit_whitening(feats, shrinkage=-1.0)
