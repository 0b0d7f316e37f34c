"""The shipped models' recipe (``python -m inria_stable_signature.train_default``) in a smoke run: one process,
and two processes under the real launcher (torch.distributed.run, gloo) where rank 0 alone writes."""
import os
import subprocess
import sys

import inria
import torch
import yaml


def _card(path):
    return yaml.safe_load((path / "card.yaml").read_text())["extra"]


def test_quick_run_writes_both_models_with_their_figures(tmp_path):
    from inria_stable_signature.train_default import main

    assert main(["--quick", "--out", str(tmp_path)]) == 0
    for name in ("stable_signature", "hidden"):
        info = _card(tmp_path / name)["info"]
        assert info["processes"] == 1 and 0.0 <= info["held_out"]["none"]["bit_accuracy"] <= 1.0
        assert (tmp_path / name / "training_curve.png").stat().st_size > 1000  # the curve, drawn beside the card
        rows = [__import__("json").loads(r) for r in (tmp_path / name / "training_log.jsonl").read_text().splitlines()]
        assert rows and all(0.0 <= r["bit_acc"] <= 1.0 for r in rows)
    ss = inria.create("watermarker", "stable_signature", checkpoint=str(tmp_path / "stable_signature"))
    marked, key = ss.embed(list(torch.rand(2, 3, 64, 64).unbind(0)))
    assert len(marked) == 2 and key.shape[-1] == 48
    # --reuse takes both trained stages from the work folder and redoes whitening and tuning only
    assert main(["--quick", "--out", str(tmp_path), "--reuse"]) == 0
    assert "reused" in _card(tmp_path / "hidden")["info"]["train"]


def test_two_processes_under_torchrun(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "INRIA_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "inria_stable_signature.train_default", "--quick", "--out", str(tmp_path)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stderr.count("trained in") == 1  # rank 0 alone measured, wrote and reported
    from inria.train.checkpoint import load

    ck = load(tmp_path / ".train_default" / "hidden_train" / "checkpoints" / "last.pt")
    assert ck["world_size"] == 2 and len(ck["rng"]) == 2  # HiDDeN trained data-parallel over both ranks
    for name in ("stable_signature", "hidden"):
        assert _card(tmp_path / name)["info"]["processes"] == 2
    inria.create("watermarker", "hidden", checkpoint=str(tmp_path / "hidden"))._build()
