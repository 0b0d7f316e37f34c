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


def test_mim_alone_retrains_stage_2_and_keeps_the_cards_record_of_the_others(tiny_config, tmp_path):
    """train_default --mim on a trained model: a new MIM model (new id, the old card under before_mim), and the
    card still records how stages 1 and 3 were trained (a one-stage run must not reset them to defaults)."""
    import inria
    from inria_pq_mim.train_default import main

    # downsampling 16 as the default's: few tokens, so measuring the test split after the run takes seconds
    codec = inria.create("codec", "pq_mim", **dict(tiny_config, downsampling=16, channels=[8, 8, 16, 16]))
    codec.config.refine_decoder = True
    codec.config.stage3 = codec.config.stage3.replace(steps=77)
    model = codec.save(tmp_path / "model", card_extra={"trained_by": "earlier"})
    assert main(["--out", str(model), "--run-dir", str(tmp_path / "run"), "--mim", "--steps-scale", "0.01"]) == 0
    card = yaml.safe_load((model / "card.yaml").read_text())
    assert card["config"]["stage3"]["steps"] == 77 and card["config"]["refine_decoder"] is True
    assert card["config"]["stage2"]["steps"] == 4  # the recipe's 400 x 0.01
    assert card["extra"]["before_mim"]["model_id"] == codec.model_id.hex() != card["extra"]["model_id"]
    assert card["extra"]["trained_by"].endswith("--mim (stage 2 on the model at --out)")
