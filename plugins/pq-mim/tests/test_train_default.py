"""The default model's recipe (``python -m inria_pq_mim.train_default``) under the real launcher with two processes
(torch.distributed.run, gloo): both stages train data-parallel, rank 0 alone writes the model and measures."""
import os
import subprocess
import sys

import yaml


def test_two_processes_under_torchrun(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "INRIA_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "inria_pq_mim.train_default", "--steps-scale", "0.005", "--out", str(tmp_path / "model"),
           "--run-dir", str(tmp_path / "run")]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("saved ") == 1 and res.stdout.count("test split, 16 sub-quantizers") == 1
    from inria.train.checkpoint import load

    for stage in ("stage1", "stage2"):
        ck = load(tmp_path / "run" / "checkpoints" / stage / "last.pt")
        assert ck["world_size"] == 2 and len(ck["rng"]) == 2
    card = yaml.safe_load((tmp_path / "model" / "card.yaml").read_text())
    assert card["extra"]["processes"] == 2
    import inria

    codec = inria.create("codec", "pq_mim", checkpoint=str(tmp_path / "model"))
    import torch

    img = torch.rand(3, 40, 56)
    assert codec.decompress(codec.compress(img)).shape == img.shape
