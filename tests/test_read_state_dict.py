"""inria.modeldir.read_state_dict: official {'model': ...} pickles, bare state dicts, safetensors, refusals."""
import argparse

import pytest
import torch

from inria.errors import InriaError
from inria.modeldir import read_state_dict, save_weights


def test_reads_wrapped_bare_and_safetensors(tmp_path):
    state = {"a.weight": torch.randn(3, 2), "b": torch.arange(4)}
    torch.save({"model": state, "args": argparse.Namespace(lr=1.0), "epoch": 3}, tmp_path / "official.pth")
    torch.save(state, tmp_path / "bare.pth")
    save_weights(tmp_path, state)
    for source in (tmp_path / "official.pth", tmp_path / "bare.pth", tmp_path, tmp_path / "weights.safetensors"):
        got = read_state_dict(source)
        assert set(got) == set(state) and all(torch.equal(got[k], state[k]) for k in state)


def test_refusals_are_one_line_and_name_the_file(tmp_path):
    torch.save({"model": {"w": torch.zeros(1)}, "opt": torch.optim.SGD}, tmp_path / "code.pth")  # a class: code
    torch.save([1, 2], tmp_path / "list.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    for name, words in [("code.pth", "weights_only"), ("list.pth", "not a state dict"), ("junk.pth", "cannot read"),
                        ("absent.pth", "not found")]:
        with pytest.raises(InriaError) as e:
            read_state_dict(tmp_path / name, hint="pass X")
        text = str(e.value)
        assert words in text and name in text and "pass X" in text and "\n" not in text


def test_unwrap_names_the_keys_to_look_under(tmp_path):
    """DINO's training checkpoints keep each network under its own key ('teacher', 'student')."""
    teacher, student = {"conv1.weight": torch.ones(2)}, {"conv1.weight": torch.zeros(2)}
    torch.save({"teacher": teacher, "student": student, "args": argparse.Namespace(arch="resnet50")},
               tmp_path / "dino.pth")
    got = read_state_dict(tmp_path / "dino.pth", unwrap=("teacher",))
    assert torch.equal(got["conv1.weight"], teacher["conv1.weight"])
    with pytest.raises(InriaError, match="not a state dict"):  # the default keys do not include 'teacher'
        read_state_dict(tmp_path / "dino.pth")
