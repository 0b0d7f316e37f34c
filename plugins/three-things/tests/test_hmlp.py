"""hMLP stem: per-patch processing, so masking before or after the stem is the same; SimMIM learns."""
import pytest
import torch
from torch import nn

from inria_three_things.hmlp import HMLPStem
from inria_three_things.masked import MaskedImageModel, patchify, pixel_mask, random_mask


def test_stem_layout_is_the_papers(make):
    stem = make(stem="hmlp", img_size=64, patch_size=16, embed_dim=48).module.patch_embed
    convs = [m for m in stem.proj if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size[0], c.stride[0], c.out_channels) for c in convs] == [(4, 4, 12), (2, 2, 12), (2, 2, 48)]
    assert [type(m).__name__ for m in stem.proj] == ["Conv2d", "BatchNorm2d", "GELU"] * 2 + ["Conv2d", "BatchNorm2d"]
    assert stem(torch.rand(2, 3, 64, 64)).shape == (2, 16, 48)


def scramble(x, mask, patch):
    """Other pixels in the hidden patches (and the same elsewhere)."""
    return torch.where(pixel_mask(mask, (x.shape[-2] // patch, x.shape[-1] // patch), patch), torch.rand_like(x), x)


@pytest.mark.parametrize("norm,train", [("batch", False), ("layer", False), ("layer", True)])
def test_each_token_sees_only_its_patch(norm, train):
    torch.manual_seed(0)
    stem = HMLPStem(img_size=32, patch_size=8, embed_dim=24, stem_norm=norm).train(train)
    x = torch.rand(3, 3, 32, 32)
    whole = stem(x)
    # the stem on each 8x8 patch alone gives the same tokens as on the whole image
    patches = x.unfold(2, 8, 8).unfold(3, 8, 8).permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, 8, 8)
    stem_one = HMLPStem(img_size=8, patch_size=8, embed_dim=24, stem_norm=norm).train(train)
    stem_one.load_state_dict(stem.state_dict())
    if norm == "layer" or not train:
        torch.testing.assert_close(stem_one(patches).reshape(3, 16, 24), whole, rtol=1e-5, atol=1e-5)
    # masking before the stem == masking after it: visible tokens do not change with the hidden pixels
    mask = random_mask(3, 16, 0.5, generator=torch.Generator().manual_seed(1))
    other = stem(scramble(x, mask, 8))
    torch.testing.assert_close(other[~mask], whole[~mask], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(other[mask], whole[mask])


def test_an_overlapping_conv_stem_leaks_hidden_pixels_into_visible_tokens():
    """The contrast the paper draws: a conv stem with 3x3 stride-2 kernels mixes neighbouring patches."""
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.GELU(), nn.Conv2d(8, 8, 3, 2, 1), nn.GELU(),
                         nn.Conv2d(8, 24, 3, 2, 1)).eval()
    x = torch.rand(3, 3, 32, 32)
    mask = random_mask(3, 16, 0.5, generator=torch.Generator().manual_seed(1))
    tokens = lambda im: conv(im).flatten(2).transpose(1, 2)  # noqa: E731
    assert not torch.allclose(tokens(scramble(x, mask, 8))[~mask], tokens(x)[~mask], atol=1e-4)


@pytest.mark.parametrize("stem", ["hmlp", "linear"])
def test_masked_model_never_sees_the_hidden_pixels_even_with_training_batchnorm(make, stem):
    model = MaskedImageModel(make(stem=stem).module).train()
    x = torch.rand(4, 3, 32, 32)
    mask = random_mask(4, 16, 0.5, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(model.tokens(scramble(x, mask, 8), mask), model.tokens(x, mask))
    assert torch.equal(model.tokens(x, mask)[mask], model.mask_token.expand(int(mask.sum()), -1, -1)[:, 0])
    assert model(x, mask).shape == (4, 16, 8 * 8 * 3)


def test_patchify_matches_the_token_order():
    x = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
    p = patchify(x, 8)
    assert p.shape == (2, 4, 192)
    torch.testing.assert_close(p[0, 1].reshape(8, 8, 3).permute(2, 0, 1), x[0, :, 0:8, 8:16])
    assert random_mask(5, 16, 0.25).sum(1).tolist() == [4] * 5


def test_masked_pretraining_lowers_the_reconstruction_error(make, tmp_path):
    from inria.context import StepContext
    from inria.data.images import digits

    x, _ = digits("train", size=32)
    torch.manual_seed(0)
    bb = make(stem="hmlp", pretrain={"epochs": 3, "batch_size": 32, "lr": 2e-3, "warmup_epochs": 0.2})
    def masked_l1():
        model.eval()
        g = torch.Generator().manual_seed(5)
        mask = random_mask(256, 16, 0.5, generator=g)
        with torch.no_grad():
            return float((model(x[:256], mask) - model.target(x[:256])).abs().mean(-1)[mask].mean())

    model = MaskedImageModel(bb.module)
    before = masked_l1()
    out = bb.pretrain_masked(x, ctx=StepContext.standalone(tmp_path))
    model = bb.masked_model
    after = masked_l1()
    assert after < 0.7 * before and out["steps"] == 3 * (len(x) // 32)
