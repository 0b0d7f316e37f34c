"""Official deit-repo PatchConvNet state dicts: built here from the official layout, saved, loaded into ours.

OfficialPatchConvnet below is an independent re-statement of the deit repo's ``patchconvnet_models.PatchConvnet``.

Written from the official file's module tree and parameter names (not
imported from the plugin): ``patch_embed.proj`` = [Sequential(conv3x3 s2),
GELU] x 4 without the last GELU; ``blocks.i`` = norm1 + ``attn.qkv_pos``
(1x1, GELU, depthwise 3x3, GELU, timm SqueezeExcite(0.25), 1x1) + gamma_1;
``blocks_token_only.0`` = norm1 + ``attn.{q,k,v,proj}`` (one head, the
class token as the only query) + gamma_1 + norm2 + ``mlp.{fc1,fc2}`` + gamma_2;
``cls_token``, ``norm`` and ``head``. Tokens are (B, N, C) with H = W = sqrt(N),
as the official code assumes.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models._efficientnet_blocks import SqueezeExcite

import inria
from inria.errors import InriaError


class _Mixer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.qkv_pos = nn.Sequential(nn.Conv2d(d, d, 1), nn.GELU(), nn.Conv2d(d, d, 3, 1, 1, groups=d), nn.GELU(),
                                     SqueezeExcite(d, rd_ratio=0.25), nn.Conv2d(d, d, 1))

    def forward(self, x):
        b, n, c = x.shape
        s = int(n ** 0.5)
        return self.qkv_pos(x.transpose(-1, -2).reshape(b, c, s, s)).reshape(b, c, n).transpose(-1, -2)


class _Column(nn.Module):
    def __init__(self, d, init):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = _Mixer(d)
        self.gamma_1 = nn.Parameter(init * torch.ones(d))

    def forward(self, x):
        return x + self.gamma_1 * self.attn(self.norm1(x))


class _Pool(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.q, self.k, self.v, self.proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, u):
        q = self.q(u[:, 0:1]) * u.shape[-1] ** -0.5  # one head: head_dim = d
        w = F.softmax(q @ self.k(u).transpose(1, 2), dim=-1)
        return self.proj(w @ self.v(u))


class _Mlp(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class _TokenBlock(nn.Module):
    def __init__(self, d, ratio, init):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
        self.attn, self.mlp = _Pool(d), _Mlp(d, int(d * ratio))
        self.gamma_1, self.gamma_2 = nn.Parameter(init * torch.ones(d)), nn.Parameter(init * torch.ones(d))

    def forward(self, x, cls):
        cls = cls + self.gamma_1 * self.attn(self.norm1(torch.cat((cls, x), 1)))
        return cls + self.gamma_2 * self.mlp(self.norm2(cls))


class OfficialPatchConvnet(nn.Module):
    """The official layout with 4 stem convolutions (patch 16); ``stem`` convolutions for other patch sizes."""

    def __init__(self, embed_dim=384, depth=60, num_classes=1000, init=1e-4, ratio=3.0, stem=4):
        super().__init__()
        widths = [embed_dim // 2 ** (stem - 1 - i) for i in range(stem)]
        layers, prev = [], 3
        for w in widths:
            layers += [nn.Sequential(nn.Conv2d(prev, w, 3, 2, 1, bias=False)), nn.GELU()]
            prev = w
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Sequential(*layers[:-1])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.blocks = nn.ModuleList(_Column(embed_dim, init) for _ in range(depth))
        self.blocks_token_only = nn.ModuleList([_TokenBlock(embed_dim, ratio, init)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = blk(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        for blk in self.blocks_token_only:
            cls = blk(x, cls)
        return self.head(self.norm(torch.cat((cls, x), 1))[:, 0])


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Every tensor random (LayerScale included, so each block changes the output)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() == 1 else 0.1))


@pytest.mark.parametrize("wrap", [True, False])
def test_official_file_round_trip_to_1e5(tmp_path, wrap):
    torch.manual_seed(0)
    official = OfficialPatchConvnet(embed_dim=384, depth=3, num_classes=1000).eval()  # S60's width, 3 columns
    _randomise(official)
    state = official.state_dict()
    torch.save({"model": state, "epoch": 399} if wrap else state, tmp_path / "S60.pth")
    ours = inria.create("backbone", "patchconvnet_s60", depth=3, img_size=64, checkpoint=str(tmp_path / "S60.pth"))
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        want = official(x)
    got = ours.classify(x)
    assert want.abs().max() > 1e-2  # the weights reach the logits
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_model_directory_and_digits_layout_round_trip(tmp_path):
    official = OfficialPatchConvnet(embed_dim=128, depth=2, num_classes=10, stem=2).eval()  # the digits stem
    _randomise(official, seed=1)
    torch.save(official.state_dict(), tmp_path / "digits.pth")
    a = inria.create("backbone", "patchconvnet_digits", depth=2, checkpoint=str(tmp_path / "digits.pth"))
    x = torch.rand(4, 3, 32, 32)
    torch.testing.assert_close(a.classify(x), official(x).detach(), atol=1e-5, rtol=1e-5)
    b = type(a).load(a.save(tmp_path / "model"))
    assert torch.equal(a.classify(x), b.classify(x))


@pytest.mark.parametrize("name,width,depth,init", [("patchconvnet_s60", 384, 60, 1e-4),
                                                    ("patchconvnet_b120", 768, 120, 1e-6)])
def test_full_size_key_sets_and_shapes_are_the_official_ones(name, width, depth, init):
    with torch.device("meta"):
        official = OfficialPatchConvnet(embed_dim=width, depth=depth, init=init)
        from inria_patchconvnet.patchconvnet import PatchConvNet

        ours = PatchConvNet(embed_dim=width, depth=depth)
    want = {k: tuple(v.shape) for k, v in official.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == want


def test_another_architecture_is_one_line_naming_the_counts_and_file(tmp_path):
    torch.save({"model": OfficialPatchConvnet(embed_dim=64, depth=3).state_dict()}, tmp_path / "three.pth")
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "patchconvnet_s60", depth=2, embed_dim=64, img_size=64,
                     checkpoint=str(tmp_path / "three.pth"))
    text = str(e.value)
    assert "three.pth" in text and "unexpected" in text and "blocks.2." in text and "\n" not in text
    vit = {"cls_token": torch.zeros(1, 1, 64), "pos_embed": torch.zeros(1, 16, 64),
           "patch_embed.proj.weight": torch.zeros(64, 3, 16, 16), "blocks.0.attn.qkv.weight": torch.zeros(192, 64)}
    torch.save(vit, tmp_path / "deit.pth")
    with pytest.raises(InriaError, match=r"deit\.pth.*\d+ missing .*\d+ unexpected"):
        inria.create("backbone", "patchconvnet_s60", depth=2, embed_dim=64, img_size=64,
                     checkpoint=str(tmp_path / "deit.pth"))


def test_other_head_is_reinitialised_with_a_warning(tmp_path):
    from inria_patchconvnet.checkpoint import HeadReinitialised

    official = OfficialPatchConvnet(embed_dim=64, depth=2, num_classes=1000)
    torch.save(official.state_dict(), tmp_path / "in1k.pth")
    with pytest.warns(HeadReinitialised, match="1000"):
        b = inria.create("backbone", "patchconvnet_s60", depth=2, embed_dim=64, img_size=64, num_classes=7,
                         checkpoint=str(tmp_path / "in1k.pth"))
    assert torch.equal(b.module.blocks[1].gamma_1, official.blocks[1].gamma_1)
    assert b.classify(torch.rand(1, 3, 64, 64)).shape == (1, 7)


def test_unreadable_and_absent_files_are_one_line(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"\x00not a checkpoint")
    for name in ("junk.pth", "absent.pth"):
        with pytest.raises(InriaError) as e:
            inria.create("backbone", "patchconvnet_s60", depth=1, checkpoint=str(tmp_path / name))
        assert name in str(e.value) and "PatchConvNet" in str(e.value) and "\n" not in str(e.value)


def test_no_shipped_weights_for_the_imagenet_sizes():
    with pytest.raises(InriaError, match="ships no weights"):
        inria.create("backbone", "patchconvnet_b60", depth=1, checkpoint="default")
