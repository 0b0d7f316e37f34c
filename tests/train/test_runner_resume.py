"""SIGKILL mid-training, then ``inria run RECIPE --resume``: the same weights as a run never killed.

A fake backbone plugin (inria.testing.fake_plugin) trains through inria.train.Trainer
in its ``fit``; the runner hands it ``ctx`` (checkpoint_dir, resume, force).
"""
import multiprocessing
import os
import signal
import textwrap

import pytest
import torch

from inria.testing import fake_plugin

PLUGIN = '''
import dataclasses, os, signal
import torch
from inria.config import doc
from inria.interfaces import Backbone
from inria.modeldir import save_weights, write_card
from inria.train import TensorData, TrainConfig, Trainer, train_config_field
from inria.train.objectives import CrossEntropy


@dataclasses.dataclass
class Config:
    width: int = doc(16, "hidden width")
    train: TrainConfig = train_config_field(epochs=2, batch_size=8, lr=0.02, checkpoint_every=7, log_every=4)


class KillableCE(CrossEntropy):
    """Cross-entropy that SIGKILLs its process at step $INRIA_TEST_KILL_AT (tests only)."""

    def __call__(self, model, batch, ctx):
        kill = os.environ.get("INRIA_TEST_KILL_AT")
        if kill is not None and ctx.step == int(kill):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(model, batch, ctx)


class TinyNet(Backbone):
    """An MLP on 8x8 digits, trained by the core engine."""
    Config = Config

    def __init__(self, config=None, **kw):
        super().__init__(config, **kw)
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, self.config.width), torch.nn.ReLU(),
                                       torch.nn.Dropout(0.1), torch.nn.Linear(self.config.width, 10))

    @property
    def module(self):
        return self.net

    def embed(self, images):
        return self.net[:3](images).detach().numpy()

    def classify(self, images):
        return self.net(images)

    def fit(self, images, labels, ctx=None):
        x = images if torch.is_tensor(images) else torch.stack(list(images))
        data = TensorData(x.float(), torch.as_tensor(labels))
        return Trainer(self.net, data, self.config.train, ctx=ctx, objective=KillableCE()).fit()

    def save(self, path):
        path = super().save(path)
        save_weights(path, {k: v.contiguous() for k, v in self.net.state_dict().items()})
        return path
'''

RECIPE = textwrap.dedent('''
    name: train-resume
    seed: 3
    device: cpu
    steps:
      - id: digits
        run: images
        with: {source: digits, split: train, limit: 96}
      - id: fit
        backbone: tinynet
        do: fit
        with: {train: {epochs: 2, batch_size: 8, lr: 0.02, checkpoint_every: 7, log_every: 4}}
        inputs: {images: digits, labels: digits.labels}
''')


def _cli(*argv):
    from inria.cli import main

    return main([str(a) for a in argv])


def _killed_child(argv):
    os.environ["INRIA_TEST_KILL_AT"] = "17"
    _cli(*argv)


def test_inria_run_resume_after_sigkill_matches_uninterrupted(tmp_path, capfd):
    from inria.modeldir import load_weights
    from inria.train.checkpoint import load as load_ckpt

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    with fake_plugin(tmp_path / "plugin", "inria-plugin-tinynet", entry_points={"inria.backbone": {"tinynet": "tinynet_mod:TinyNet"}},
                     files={"tinynet_mod.py": PLUGIN}):
        assert _cli("run", recipe, "--out", tmp_path / "ref") == 0
        (ref_dir,) = (tmp_path / "ref" / "train-resume").iterdir()
        # the same recipe, killed by SIGKILL inside step 17 of 24 (second epoch, after the checkpoint of step 14)
        child = multiprocessing.get_context("fork").Process(target=_killed_child,
                                                            args=(["run", recipe, "--out", tmp_path / "runs"],))
        child.start()
        child.join(120)
        assert child.exitcode == -signal.SIGKILL
        (run_dir,) = (tmp_path / "runs" / "train-resume").iterdir()
        ck = load_ckpt(run_dir / "steps" / "fit" / "checkpoints" / "last.pt")
        assert (ck["global_step"], ck["epoch"], ck["step_in_epoch"]) == (14, 1, 2)
        assert not (run_dir / "steps" / "fit" / "model").exists()
        assert _cli("run", recipe, "--out", tmp_path / "runs", "--resume") == 0
        ref = load_weights(ref_dir / "steps" / "fit" / "model")
        res = load_weights(run_dir / "steps" / "fit" / "model")
        assert ref.keys() == res.keys()
        for k in ref:
            assert torch.equal(ref[k], res[k]), k
        # the training curve of both runs landed in their metrics.jsonl
        assert (run_dir / "metrics.jsonl").read_text().count('"source": "fit"') >= 6
        # a changed training config re-runs the step from scratch (the runner's rule), not a refused resume
        capfd.readouterr()
        assert _cli("run", recipe, "--out", tmp_path / "runs", "--resume",
                    "--set", "steps.fit.with.train.lr=0.03") == 0
        err = capfd.readouterr().err
        assert "fit (backbone:tinynet.fit)" in err and "resuming" not in err
        ck = load_ckpt(run_dir / "steps" / "fit" / "checkpoints" / "last.pt")
        assert ck["config"]["lr"] == 0.03 and ck["global_step"] == 24
        again = load_weights(run_dir / "steps" / "fit" / "model")
        assert not torch.equal(again["1.weight"], ref["1.weight"])


@pytest.mark.slow
def test_inria_run_nproc_per_node_2_trains_with_ddp(tmp_path):
    """``inria run RECIPE --nproc-per-node 2``: two gloo ranks, one model directory, one metrics.jsonl."""
    import json
    import subprocess
    import sys

    from inria.modeldir import load_weights
    from inria.testing import write_fake_plugin

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.replace("batch_size: 8", "batch_size: 4"))
    root = write_fake_plugin(tmp_path / "plugin", "inria-plugin-tinynet",
                             entry_points={"inria.backbone": {"tinynet": "tinynet_mod:TinyNet"}},
                             files={"tinynet_mod.py": PLUGIN})
    env = {**os.environ, "PYTHONPATH": f"{root}:{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1",
           "INRIA_PROGRESS": "0"}
    res = subprocess.run([sys.executable, "-m", "inria", "run", str(recipe), "--out", str(tmp_path / "runs"),
                          "--nproc-per-node", "2"], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs" / "train-resume").iterdir()
    assert json.loads((run_dir / "env.json").read_text())["world_size"] == 2
    weights = load_weights(run_dir / "steps" / "fit" / "model")
    assert set(weights) == {"1.weight", "1.bias", "4.weight", "4.bias"}
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["source"] == "fit"] == [4, 8, 12, 16, 20, 24]  # once, from rank 0
