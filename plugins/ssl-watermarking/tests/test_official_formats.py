"""DINO's ResNet-50 checkpoints (dino_r50_plus.pth and DINO training files) load from a path."""
import pytest
import torch
import torchvision

import inria
from inria.errors import InriaError


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(0)
    net = torchvision.models.resnet50(weights=None)
    net.eval()
    return net


def _expected(net, x):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    trunk = torch.nn.Sequential(*list(net.children())[:-1])
    return trunk((x - mean) / std).flatten(1)


def test_plain_and_teacher_checkpoints_give_the_same_features(tmp_path, reference):
    state = {k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")}
    torch.save(state, tmp_path / "dino_r50_plus.pth")  # the released backbone: a bare torchvision state dict
    # a DINO training checkpoint: networks under 'teacher' with DDP/MultiCropWrapper prefixes and a head
    teacher = {f"module.backbone.{k}": v for k, v in state.items()}
    teacher["module.head.mlp.0.weight"] = torch.zeros(4, 2048)
    torch.save({"teacher": teacher, "student": teacher, "epoch": 3}, tmp_path / "checkpoint.pth")
    x = torch.rand(2, 3, 224, 224)
    want = _expected(reference, x)
    for name in ("dino_r50_plus.pth", "checkpoint.pth"):
        bb = inria.create("backbone", "dino_resnet50", checkpoint=str(tmp_path / name))
        with torch.no_grad():
            got = bb.features(x)
        assert got.shape == (2, 2048) and torch.allclose(got, want, atol=1e-4)
    emb = bb.embed([x[0], x[1, :, :200]])  # a list of different sizes works
    assert emb.shape == (2, 2048)


def test_another_architecture_is_refused_in_one_line(tmp_path):
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "r18.pth")
    with pytest.raises(InriaError) as e:
        inria.create("backbone", "dino_resnet50", checkpoint=str(tmp_path / "r18.pth"))
    text = str(e.value)
    assert "not a resnet50 checkpoint" in text and "r18.pth" in text and "\n" not in text
