"""Official and timm checkpoints load into the plugin and give timm's logits."""
import re
import warnings

import pytest
import timm
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

import inria
from inria.errors import InriaError
from inria_deit3.checkpoint import HeadReinitialised, to_official_names


@pytest.fixture(scope="module")
def timm_small():
    torch.set_num_threads(1)  # built before the per-test one_thread fixture runs
    torch.manual_seed(0)
    m = timm.create_model("deit3_small_patch16_224", pretrained=False).eval()
    with torch.no_grad():  # non-trivial LayerScale, class token and position embedding
        for name, p in m.named_parameters():
            if name.endswith(".gamma"):
                p.uniform_(0.2, 1.5)
        m.cls_token.normal_(0, 0.5)
        m.pos_embed.normal_(0, 0.5)
    return m


@pytest.fixture(scope="module")
def files(timm_small, tmp_path_factory):
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("ckpt")
    sd = timm_small.state_dict()
    torch.save(sd, d / "timm_deit3_small.pth")
    save_file({k: v.contiguous() for k, v in sd.items()}, str(d / "timm_deit3_small.safetensors"))
    official = to_official_names(sd)
    assert "blocks.0.gamma_1" in official and "blocks.0.ls1.gamma" not in official
    torch.save({"model": official, "epoch": 799}, d / "deit_3_small_224_1k.pth")
    return d


def _x():
    torch.manual_seed(1)
    return torch.rand(1, 3, 224, 224)


def _reference(timm_model, x):
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        return timm_model((x - mean) / std)


@pytest.mark.parametrize("fname", ["deit_3_small_224_1k.pth", "timm_deit3_small.pth", "timm_deit3_small.safetensors"])
def test_logits_equal_timm(files, timm_small, fname):
    b = inria.create("backbone", "deit3_small", checkpoint=str(files / fname))
    x = _x()
    ref = _reference(timm_small, x)
    got = b.classify(x)
    assert (got - ref).abs().max().item() <= 1e-5
    # the layer scale really came from the file (not the 1e-4 init)
    assert b.module.blocks[3].ls2.gamma.min() >= 0.2
    feats = b.embed(x)
    assert feats.shape == (1, 384)


def test_position_embedding_resampled_for_another_size(files, timm_small):
    b = inria.create("backbone", "deit3_small", img_size=256, checkpoint=str(files / "deit_3_small_224_1k.pth"))
    assert b.module.pos_embed.shape == (1, 16 * 16, 384)
    # a 14x14 -> 16x16 interpolation of a smooth field keeps its corners close
    assert b.classify(torch.rand(1, 3, 256, 256)).shape == (1, 1000)


def test_other_number_of_classes_reinitialises_head_and_warns_once(files, timm_small):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = inria.create("backbone", "deit3_small", num_classes=10, checkpoint=str(files / "timm_deit3_small.pth"))
    heads = [w for w in caught if issubclass(w.category, HeadReinitialised)]
    assert len(heads) == 1 and "1000 classes" in str(heads[0].message) and "10" in str(heads[0].message)
    assert b.module.head.weight.shape == (10, 384)
    assert torch.equal(b.module.blocks[0].attn.qkv.weight, timm_small.blocks[0].attn.qkv.weight)
    x = _x()
    ref_feats = timm_small.forward_head(timm_small.forward_features(
        (x - torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)),
        pre_logits=True)
    assert abs(b.embed(x) - ref_feats.detach().numpy()).max() <= 1e-5


def _one_line(err):
    text = str(err.value)
    assert "\n" not in text
    return text


def test_missing_and_unexpected_keys_are_listed(files):
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "deit3_small", depth=11, checkpoint=str(files / "deit_3_small_224_1k.pth"))
    text = _one_line(e)
    assert "unexpected keys" in text and "blocks.11." in text and "..." in text
    sd = torch.load(files / "timm_deit3_small.pth", weights_only=True)
    del sd["blocks.2.attn.qkv.weight"], sd["norm.bias"]
    sd["extra.thing"] = torch.zeros(1)
    torch.save(sd, files / "broken.pth")
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "deit3_small", checkpoint=str(files / "broken.pth"))
    text = _one_line(e)
    assert "2 missing keys (blocks.2.attn.qkv.weight, norm.bias)" in text and "extra.thing" in text


def test_other_width_names_the_tensor(files):
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "deit3_tiny", checkpoint=str(files / "timm_deit3_small.pth"))
    text = _one_line(e)
    assert "pos_embed has shape (1, 196, 384), the model (1, 196, 192)" in text and "size constructor" in text


def test_img_size_not_multiple_of_patch():
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "deit3_small", img_size=100)
    text = _one_line(e)
    assert "img_size 100" in text and "patch_size 16" in text and "96" in text


@pytest.mark.parametrize("payload", [b"garbage" * 50, None])
def test_corrupt_checkpoint(files, tmp_path, payload):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(payload if payload is not None else (files / "timm_deit3_small.pth").read_bytes()[:4096])
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "deit3_small", checkpoint=str(bad))
    assert "corrupt" in _one_line(e) and str(bad) in str(e.value)


def test_corrupt_safetensors(files, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((files / "timm_deit3_small.safetensors").read_bytes()[:5000])
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "deit3_small", checkpoint=str(bad))
    assert "corrupt" in _one_line(e)


class _Payload:
    """Unpickling this would create a file: the test checks it never happens."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_needing_code_is_refused(files, tmp_path):
    marker = tmp_path / "was_executed"
    sd = torch.load(files / "timm_deit3_small.pth", weights_only=True)
    torch.save({"model": sd, "hook": _Payload(str(marker))}, tmp_path / "evil.pth")
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "deit3_small", checkpoint=str(tmp_path / "evil.pth"))
    text = _one_line(e)
    assert "refused" in text and "weights_only" in text and re.search(r"needs \w*\.?open\)", text)
    assert not marker.exists()


def test_missing_file_and_default_without_shipped_weights(tmp_path):
    with pytest.raises(InriaError, match="not found"):
        inria.create("backbone", "deit3_small", checkpoint=str(tmp_path / "nope.pth"))
    with pytest.raises(InriaError, match="ships no weights"):
        inria.create("backbone", "deit3_small", checkpoint="default")
