"""inria.losses (a core module this plugin introduced): Watson-DFT, MSE, SSIM, and weights-from-path losses."""
import pytest
import torch

from inria import InriaError
from inria.losses import LPIPS, WatsonVGG, perceptual_loss


def _img(seed=0, size=32):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(2, 3, 1, 1, generator=g)
    yy = torch.linspace(0, 1, size)[:, None]
    return (base + 0.3 * torch.sin(12 * yy + torch.linspace(0, 3, size)[None])).clamp(0, 1)[..., :size, :size]


@pytest.mark.parametrize("name", ["watson-dft", "mse", "ssim"])
def test_zero_on_identical_grows_with_distortion_and_has_finite_gradients(name):
    loss = perceptual_loss(name).eval()
    x = _img()
    assert float(loss(x, x)) < 1e-3
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(x.shape, generator=g)
    small = (x + 0.01 * noise).clamp(0, 1).requires_grad_(True)
    big = (x + 0.05 * noise).clamp(0, 1)
    v = loss(small, x)
    v.backward()
    assert float(v) < float(loss(big, x))
    assert torch.isfinite(small.grad).all() and small.grad.abs().sum() > 0


def test_watson_dft_masks_busy_areas():
    """The same noise costs less where the reference has texture (contrast masking) than on a flat image."""
    loss = perceptual_loss("watson-dft", random_shift=False)
    flat = torch.full((1, 3, 32, 32), 0.5)
    busy = (0.5 + 0.3 * torch.sign(torch.sin(torch.arange(32.0) * 2.1))[None, None, None, :]).expand(1, 3, 32, 32)
    noise = 0.02 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert float(loss(busy + noise, busy)) < float(loss(flat + noise, flat))


def test_watson_dft_handles_odd_sizes_and_flat_images():
    loss = perceptual_loss("watson-dft")
    x = torch.full((1, 3, 13, 21), 0.3, requires_grad=True)
    v = loss(x, torch.full((1, 3, 13, 21), 0.3))
    v.backward()
    assert torch.isfinite(x.grad).all()


def test_feature_losses_need_local_weights(tmp_path):
    with pytest.raises(InriaError, match="local path"):
        perceptual_loss("watson-vgg")
    with pytest.raises(InriaError, match="backbone_weights"):
        perceptual_loss("lpips", weights=tmp_path / "x.pth")
    with pytest.raises(InriaError, match="not found"):
        perceptual_loss("watson-vgg", weights=tmp_path / "missing.pth")
    with pytest.raises(InriaError, match="did you mean 'watson-dft'"):
        perceptual_loss("watson-dtf")


def test_watson_vgg_and_lpips_load_their_released_layouts(tmp_path):
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    trunk = {f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()}
    torch.save(trunk, tmp_path / "vgg16.pth")
    lins = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate((64, 128, 256, 512, 512))}
    torch.save(lins, tmp_path / "vgg.pth")
    lp = perceptual_loss("lpips", weights=tmp_path / "vgg.pth", backbone_weights=tmp_path / "vgg16.pth")
    assert isinstance(lp, LPIPS)
    x = _img(size=32)
    assert float(lp(x, x)) == pytest.approx(0.0, abs=1e-6) and float(lp(x.flip(-1), x)) > 0
    # Watson-VGG: a state dict in PerceptualSimilarity's layout (VGG slices + Watson parameters)
    ref = WatsonVGG.__new__(WatsonVGG)
    torch.nn.Module.__init__(ref)
    state = {f"vgg.slice{s}.{k.split('.', 1)[1]}": v for k, v in trunk.items() if k.startswith("features.")
             for s, (lo, hi) in enumerate(((0, 4), (4, 9), (9, 16), (16, 23), (23, 30)), 1)
             if lo <= int(k.split(".")[1]) < hi}
    state.update({"shift": torch.zeros(1, 3, 1, 1), "scale": torch.ones(1, 3, 1, 1), "beta": torch.tensor(1.0)})
    for i, c in enumerate((64, 128, 256, 512, 512)):
        state[f"t{i}_tild"] = torch.zeros(c)
        state[f"w{i}_tild"] = torch.tensor(-1.0)
    torch.save(state, tmp_path / "rgb_watson_vgg_trial0.pth")
    wv = perceptual_loss("watson-vgg", weights=tmp_path / "rgb_watson_vgg_trial0.pth")
    assert float(wv(x, x)) < float(wv(x.flip(-1), x))
    del state["beta"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(InriaError, match="1 missing keys"):
        perceptual_loss("watson-vgg", weights=tmp_path / "broken.pth")
