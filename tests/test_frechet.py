"""inria.eval.frechet: the Fréchet distance, HiFiC-style patches and the patch FD with a Backbone."""
import numpy as np
import pytest
import torch

from inria.errors import InriaError
from inria.eval import frechet_distance, patch_fd, patches


def _reference(a, b):
    """Tr (S_a S_b)^(1/2) = Tr (S_a^(1/2) S_b S_a^(1/2))^(1/2), with symmetric eigendecompositions only."""
    def sqrt_psd(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = sqrt_psd(ca)
    cross = np.trace(sqrt_psd(ra @ cb @ ra))
    d = a.mean(0) - b.mean(0)
    return d @ d + np.trace(ca) + np.trace(cb) - 2 * cross


def test_matches_an_independent_formula_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    assert frechet_distance(a, b) == pytest.approx(_reference(a, b), rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_gaussians_with_known_distance():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, size=(200_000, 1))
    b = rng.normal(1.0, 2.0, size=(200_000, 1))
    assert frechet_distance(a, b) == pytest.approx(1.0 + (2.0 - 1.0) ** 2, abs=0.03)  # |dmu|^2 + (s_a - s_b)^2


def test_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(2)
    assert np.isfinite(frechet_distance(rng.normal(size=(5, 20)), rng.normal(size=(6, 20))))


def test_bad_features():
    with pytest.raises(InriaError, match="feature sizes differ"):
        frechet_distance(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(InriaError, match="N >= 2"):
        frechet_distance(np.zeros((1, 2)), np.zeros((3, 2)))
    with pytest.raises(InriaError, match="NaN"):
        frechet_distance(np.full((3, 2), np.nan), np.zeros((3, 2)))


def test_patches_grid_and_shifted_grid():
    im = torch.rand(3, 130, 200)
    assert patches([im], 64, shifted=False).shape == (6, 3, 64, 64)
    got = patches([im], 64)
    assert got.shape == (8, 3, 64, 64)  # + rows {32} x cols {32, 96}
    assert torch.equal(got[6], im[:, 32:96, 32:96])
    with pytest.raises(InriaError, match="no 256x256 patch fits"):
        patches([im], 256)


class ColourStats:
    """A stand-in Backbone: per-channel mean and standard deviation of each image."""

    def embed(self, images):
        return torch.cat([images.mean((2, 3)), images.std((2, 3))], 1).numpy()


def test_patch_fd_grows_with_distortion_and_takes_a_backbone_by_name(monkeypatch):
    import inria

    g = torch.Generator().manual_seed(0)
    real = [torch.rand(3, 96, 128, generator=g) * 0.5 + torch.linspace(0, 0.5, 128) for _ in range(3)]
    fds = [patch_fd(real, [(r + s * torch.randn(r.shape, generator=g)).clamp(0, 1) for r in real], ColourStats(),
                    size=16)["fd"] for s in (0.0, 0.05, 0.2)]
    assert fds[0] == pytest.approx(0.0, abs=1e-9) and fds[0] < fds[1] < fds[2]
    made = {}

    def create(interface, name, **kw):
        made.update(interface=interface, name=name, **kw)
        return ColourStats()

    monkeypatch.setattr(inria, "create", create)
    out = patch_fd(real, real, "some_backbone", size=32, backbone_args={"checkpoint": "default"})
    assert made == {"interface": "backbone", "name": "some_backbone", "checkpoint": "default"}
    assert out["patches"] == 3 * (3 * 4 + 2 * 3) and out["dim"] == 6
    with pytest.raises(InriaError, match="different sizes"):
        patch_fd(real, real[:2], ColourStats())
