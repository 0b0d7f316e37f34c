"""Checkpoints: exact resume after SIGKILL, refused config changes, foreign models, corrupt files."""
import signal

import pytest
import torch

from inria.context import StepContext
from inria.errors import InriaError
from inria.train import TensorData, TrainConfig, Trainer
from inria.train import checkpoint as ckpt_io


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path, tiny_run):
    # uninterrupted reference: 2 epochs x 12 steps, checkpoints every 5 steps
    tiny_run.main(["--out", tmp_path / "ref", "--weights", tmp_path / "ref.pt"])
    # the run to kill is a forked child (torch already imported; a fresh interpreter is the slow test below)
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=tiny_run.main,
                                                        args=(["--out", tmp_path / "run", "--kill-at", 17],))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    ck = ckpt_io.load(tmp_path / "run" / "checkpoints" / "last.pt")
    assert (ck["global_step"], ck["epoch"], ck["step_in_epoch"]) == (15, 1, 3)  # mid second epoch
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))
    tiny_run.main(["--out", tmp_path / "run", "--resume", "--weights", tmp_path / "resumed.pt"])
    ref, res = torch.load(tmp_path / "ref.pt"), torch.load(tmp_path / "resumed.pt")
    assert ref.keys() == res.keys()
    for k in ref:
        assert torch.equal(ref[k], res[k]), k
    # and the run did move: the weights are not the initial ones
    assert not torch.equal(ref["3.weight"], tiny_run.model(0.2).state_dict()["3.weight"])


@pytest.mark.slow
def test_sigkill_of_a_fresh_interpreter_then_resume_in_another(tmp_path, tiny_run, run_script):
    tiny_run.main(["--out", tmp_path / "ref", "--weights", tmp_path / "ref.pt"])
    killed = run_script(["--out", tmp_path / "run", "--kill-at", 13])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    resumed = run_script(["--out", tmp_path / "run", "--resume", "--weights", tmp_path / "res.pt"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ref, res = torch.load(tmp_path / "ref.pt"), torch.load(tmp_path / "res.pt")
    assert all(torch.equal(ref[k], res[k]) for k in ref)


def test_crash_then_resume_with_ema_and_accum_is_exact(tmp_path, tiny_run):
    args = ["--epochs", 2, "--accum", 2, "--ema", "--checkpoint-every", 2]
    tiny_run.main(["--out", tmp_path / "ref", "--weights", tmp_path / "ref.pt", *args])
    with pytest.raises(tiny_run.Crash):  # dies inside step 7 (0-based), after micro-batch 0's backward
        tiny_run.main(["--out", tmp_path / "run", "--crash-at", 7, *args])
    ck = ckpt_io.load(tmp_path / "run" / "checkpoints" / "last.pt")
    assert (ck["global_step"], ck["epoch"], ck["step_in_epoch"]) == (6, 1, 0) and ck["ema"] is not None
    tiny_run.main(["--out", tmp_path / "run", "--resume", "--weights", tmp_path / "res.pt", *args])
    ref, res = torch.load(tmp_path / "ref.pt"), torch.load(tmp_path / "res.pt")
    assert any(k.startswith("ema.") for k in ref)
    for k in ref:
        assert torch.equal(ref[k], res[k]), k
    assert not torch.equal(ref["ema.3.weight"], ref["3.weight"])  # the EMA is a different average


def _tiny(tmp_path, **cfg):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    data = TensorData(torch.randn(32, 4), torch.randint(0, 3, (32,)))
    base = dict(epochs=1, batch_size=8, lr=0.01, log_every=100)
    return model, data, TrainConfig(**{**base, **cfg}), StepContext.standalone(tmp_path)


def test_changed_config_is_refused_naming_fields_unless_forced(tmp_path):
    model, data, cfg, ctx = _tiny(tmp_path)
    Trainer(model, data, cfg, ctx=ctx).fit()
    model2, data2, _, _ = _tiny(tmp_path)
    changed = cfg.replace(lr=0.02, epochs=2, log_every=7)  # log_every does not count
    with pytest.raises(InriaError) as e:
        Trainer(model2, data2, changed, ctx=ctx).fit(resume=True)
    msg = str(e.value)
    assert "epochs: 1 -> 2" in msg and "lr: 0.01 -> 0.02" in msg and "log_every" not in msg
    assert "force" in msg and "\n" not in msg
    t = Trainer(model2, data2, changed, ctx=ctx)
    out = t.fit(resume=True, force=True)
    assert out["steps"] == 8 and t.resumed_from is not None  # continued from step 4 to 8
    # the forced schedule follows the new lr: cosine over 8 steps with peak 0.02
    assert t.optimizer.param_groups[0]["initial_lr"] == pytest.approx(0.02)


def test_ctx_force_and_resume_flags_are_used(tmp_path):
    model, data, cfg, _ = _tiny(tmp_path)
    ctx = StepContext.standalone(tmp_path)
    Trainer(model, data, cfg, ctx=ctx).fit()
    model2, data2, _, _ = _tiny(tmp_path)
    ctx2 = StepContext.standalone(tmp_path, resume=True, force=True)
    t = Trainer(model2, data2, cfg.replace(epochs=2), ctx=ctx2)
    assert t.fit()["steps"] == 8 and t.resumed_from == ctx.checkpoint_dir / "last.pt"


def test_checkpoint_of_another_model_names_keys(tmp_path):
    model, data, cfg, ctx = _tiny(tmp_path)
    Trainer(model, data, cfg, ctx=ctx).fit()
    other = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3), torch.nn.Linear(3, 3))
    t = Trainer(other, data, cfg, ctx=ctx)
    with pytest.raises(InriaError) as e:
        t.fit(resume=True)
    msg = str(e.value)
    assert "another model" in msg and "unexpected keys 3.weight" not in msg
    assert "missing keys 3.weight, 3.bias" in msg and "0.weight (checkpoint [8, 4] vs model [5, 4])" in msg


def test_corrupt_and_foreign_files_are_one_line_errors(tmp_path):
    model, data, cfg, ctx = _tiny(tmp_path)
    Trainer(model, data, cfg, ctx=ctx).fit()
    path = ctx.checkpoint_dir / "last.pt"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InriaError, match="cannot read checkpoint"):
        ckpt_io.load(path)
    torch.save({"model": model.state_dict()}, path)
    with pytest.raises(InriaError, match="not an inria training checkpoint"):
        ckpt_io.load(path)
    with pytest.raises(InriaError, match="no such checkpoint"):
        Trainer(model, data, cfg, ctx=ctx).fit(resume=tmp_path / "nope.pt")


def test_resume_when_no_checkpoint_starts_fresh_and_finished_run_returns_at_once(tmp_path):
    model, data, cfg, ctx = _tiny(tmp_path)
    t = Trainer(model, data, cfg, ctx=ctx)
    first = t.fit(resume=True)
    assert t.resumed_from is None and first["steps"] == 4
    before = {k: v.clone() for k, v in model.state_dict().items()}
    again = Trainer(model, data, cfg, ctx=ctx)
    out = again.fit(resume=True)
    assert again.resumed_from is not None and out["steps"] == 4 and out["loss"] == pytest.approx(first["loss"])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
