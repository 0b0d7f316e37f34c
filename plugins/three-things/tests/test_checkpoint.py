"""Weights from a local path: timm's layout and the official deit layout, outputs equal to 1e-5; bad files."""
import pickle
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inria.errors import InriaError
from inria_three_things.checkpoint import HeadReinitialised

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
ARCH = dict(img_size=32, patch_size=8, embed_dim=24, depth=2, num_heads=2, num_classes=3)


def randomise(module, seed=0):
    """Every saved tensor away from its init (BatchNorm variances positive), so each key counts."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict(keep_vars=True).items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if name.endswith("running_var")
                        else torch.randn(t.shape, generator=g) * 0.2)


def timm_vit(name, **kw):
    import timm

    model = timm.create_model(name, pretrained=False, img_size=32, patch_size=8, embed_dim=24, depth=2, num_heads=2,
                              num_classes=3, **kw)
    randomise(model)
    return model.eval()


@pytest.mark.parametrize("timm_name,parallel", [("vit_small_patch16_18x2_224", 2), ("vit_small_patch16_36x1_224", 1)])
def test_timm_state_dict_loads_with_equal_outputs(make, tmp_path, timm_name, parallel):
    theirs = timm_vit(timm_name)
    assert theirs.pos_embed.shape[1] == 17  # timm's default keeps a class-token slot: folded into cls_token here
    path = tmp_path / "timm.pth"
    torch.save(theirs.state_dict(), path)
    ours = make(parallel=parallel, checkpoint=str(path)).module.eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs((x - MEAN) / STD), rtol=1e-5, atol=1e-5)


class OfficialAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(((q * (d // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1).__matmul__(v)
                         .transpose(1, 2).reshape(n, t, d))


class OfficialMlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class OfficialParallelBlock(nn.Module):
    """deit models_v2.py Layer_scale_init_Block_paralx2: its attribute names, its forward."""

    def __init__(self, dim, heads):
        super().__init__()
        ln = lambda: nn.LayerNorm(dim, eps=1e-6)  # noqa: E731
        self.norm1, self.norm11, self.norm2, self.norm21 = ln(), ln(), ln(), ln()
        self.attn, self.attn1 = OfficialAttention(dim, heads), OfficialAttention(dim, heads)
        self.mlp, self.mlp1 = OfficialMlp(dim), OfficialMlp(dim)
        for g in ("gamma_1", "gamma_1_1", "gamma_2", "gamma_2_1"):
            setattr(self, g, nn.Parameter(1e-4 * torch.ones(dim)))

    def forward(self, x):
        x = x + self.gamma_1 * self.attn(self.norm1(x)) + self.gamma_1_1 * self.attn1(self.norm11(x))
        return x + self.gamma_2 * self.mlp(self.norm2(x)) + self.gamma_2_1 * self.mlp1(self.norm21(x))


class OfficialViT(nn.Module):
    """deit models_v2.py vit_models: pos_embed over the patches, added before the class token; optional hMLP stem."""

    def __init__(self, dim=24, depth=2, heads=2, classes=3, patch=8, img=32, hmlp=False):
        super().__init__()
        self.patch_embed = nn.Module()
        if hmlp:
            c = dim // 4
            self.patch_embed.proj = nn.Sequential(
                nn.Conv2d(3, c, patch // 4, patch // 4), nn.BatchNorm2d(c), nn.GELU(), nn.Conv2d(c, c, 2, 2),
                nn.BatchNorm2d(c), nn.GELU(), nn.Conv2d(c, dim, 2, 2), nn.BatchNorm2d(dim))
        else:
            self.patch_embed.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img // patch) ** 2, dim))
        self.blocks = nn.ModuleList([OfficialParallelBlock(dim, heads) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2) + self.pos_embed
        x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


@pytest.mark.parametrize("hmlp", [False, True])
def test_official_checkpoint_loads_with_equal_outputs(make, tmp_path, hmlp):
    theirs = OfficialViT(hmlp=hmlp)
    randomise(theirs)
    theirs.eval()
    keys = set(theirs.state_dict())
    assert {"blocks.0.norm11.weight", "blocks.0.attn1.qkv.weight", "blocks.0.gamma_1_1", "blocks.1.norm21.bias",
            "blocks.1.mlp1.fc2.weight", "blocks.1.gamma_2_1"} <= keys
    path = tmp_path / "deit_small_patch16_18x2_LS.pth"
    torch.save({"model": theirs.state_dict(), "epoch": 299}, path)
    ours = make(checkpoint=str(path), stem="hmlp" if hmlp else "linear").module.eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs((x - MEAN) / STD), rtol=1e-5, atol=1e-5)


def test_model_directory_round_trip(make, tmp_path):
    bb = make(stem="hmlp")
    randomise(bb.module)
    bb.save(tmp_path / "m")
    again = type(bb).load(tmp_path / "m")
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(again.classify(x), bb.classify(x))
    assert again.config.stem == "hmlp" and again.config.embed_dim == 24


def test_other_class_count_reinitialises_the_head_with_one_warning(make, tmp_path):
    torch.save(OfficialViT(classes=7).state_dict(), tmp_path / "c7.pth")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        bb = make(checkpoint=str(tmp_path / "c7.pth"))
    assert [w.category for w in seen].count(HeadReinitialised) == 1 and bb.module.head.out_features == 3


def one_line_error(make, **kw):
    with pytest.raises(InriaError) as e:
        make(**kw)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_checkpoint_of_another_architecture(make, tmp_path):
    torch.save(OfficialViT(depth=3).state_dict(), tmp_path / "deep.pth")
    text = one_line_error(make, checkpoint=str(tmp_path / "deep.pth"))
    assert "3 blocks x 2 branches" in text and "2 blocks x 2 branches" in text and "deep.pth" in text
    torch.save(timm_vit("vit_small_patch16_18x2_224").state_dict(), tmp_path / "par.pth")
    text = one_line_error(make, parallel=1, checkpoint=str(tmp_path / "par.pth"))
    assert "2 blocks x 2 branches" in text and "2 blocks x 1 branches" in text
    torch.save(OfficialViT(dim=32).state_dict(), tmp_path / "wide.pth")
    assert "another width" in one_line_error(make, checkpoint=str(tmp_path / "wide.pth"))
    torch.save(OfficialViT(hmlp=True).state_dict(), tmp_path / "hmlp.pth")
    assert "hMLP stem" in one_line_error(make, checkpoint=str(tmp_path / "hmlp.pth"))


def test_wrong_key_layout_and_unreadable_files(make, tmp_path):
    torch.save({"conv1.weight": torch.zeros(8, 3, 7, 7), "fc.weight": torch.zeros(10, 8)}, tmp_path / "resnet.pth")
    assert "not a ViT checkpoint" in one_line_error(make, checkpoint=str(tmp_path / "resnet.pth"))
    torch.save({"model": [1, 2, 3]}, tmp_path / "list.pth")
    assert "not a state dict" in one_line_error(make, checkpoint=str(tmp_path / "list.pth"))
    with open(tmp_path / "code.pth", "wb") as f:
        pickle.dump({"x": warnings.WarningMessage}, f)  # a global weights_only refuses
    assert "weights_only=True" in one_line_error(make, checkpoint=str(tmp_path / "code.pth"))
    good = tmp_path / "good.pth"
    torch.save(OfficialViT().state_dict(), good)
    (tmp_path / "cut.pth").write_bytes(good.read_bytes()[:500])
    assert "cannot read" in one_line_error(make, checkpoint=str(tmp_path / "cut.pth"))
    assert "not found" in one_line_error(make, checkpoint=str(tmp_path / "missing.pth"))
