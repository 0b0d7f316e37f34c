"""Metric sinks on the inria_log_metrics hook; LR and drop-path schedules."""
import json
import math

import pytest
import torch

from inria.context import StepContext
from inria.hooks import plugin_manager
from inria.train import drop_path_rates, lr_factor_fn, set_drop_path
from inria.train import sinks


def test_run_sinks_write_jsonl_once_even_when_nested(tmp_path):
    pm = plugin_manager()
    ctx = StepContext.standalone(tmp_path, step_id="s1")
    with sinks.run_sinks(tmp_path) as added:
        assert any(isinstance(s, sinks.JsonLinesSink) for s in added)
        with sinks.run_sinks(tmp_path) as again:
            assert again == []  # the runner and the trainer may both ask; one sink per run dir
            ctx.log_metrics(3, {"loss": torch.tensor(0.5), "acc": 1, "bad": float("nan")})
    ctx.log_metrics(4, {"loss": 0.1})  # after the block: no file sink any more
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["source"] == "s1" and rows[0]["step"] == 3
    assert rows[0]["loss"] == 0.5 and rows[0]["acc"] == 1 and rows[0]["bad"] == "nan"
    assert pm.get_plugin("inria.train.sinks") is not None  # the console sink stays registered


def test_console_sink_line(monkeypatch, capsys):
    monkeypatch.setenv(sinks.CONSOLE_ENV, "1")
    sinks.inria_log_metrics(source="fit", step=7, metrics={"loss": 0.123456, "img_s": 1234.5})
    assert "[fit] step 7: loss=0.1235 img_s=1234" in capsys.readouterr().err
    monkeypatch.setenv(sinks.CONSOLE_ENV, "0")
    sinks.inria_log_metrics(source="fit", step=8, metrics={"loss": 1.0})
    assert capsys.readouterr().err == ""


def test_only_rank_zero_logs(tmp_path):
    ctx = StepContext.standalone(tmp_path, rank=1, world_size=2)
    with sinks.run_sinks(tmp_path):
        ctx.log_metrics(1, {"loss": 1.0})
    assert not (tmp_path / "metrics.jsonl").exists()


def test_tensorboard_sink_when_installed(tmp_path):
    with sinks.run_sinks(tmp_path) as added:
        kinds = {type(s).__name__ for s in added}
    if not sinks.tensorboard_available():
        assert kinds == {"JsonLinesSink"}
        pytest.skip("tensorboard is not installed: the sink is (correctly) left out")
    assert "TensorBoardSink" in kinds
    with sinks.run_sinks(tmp_path):
        StepContext.standalone(tmp_path).log_metrics(1, {"loss": 1.0})
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_cosine_schedule_with_warmup():
    f = lr_factor_fn("cosine", total_steps=110, warmup_steps=10, lr=1.0, warmup_lr=0.1, min_lr=0.01)
    assert f(0) == pytest.approx(0.1) and f(5) == pytest.approx(0.55) and f(10) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.01 + 0.99 * 0.5) and f(110) == pytest.approx(0.01)
    assert all(f(i) >= f(i + 1) for i in range(10, 110))


def test_step_linear_constant_schedules():
    step = lr_factor_fn("step", total_steps=100, decay_steps=30, decay_rate=0.5, lr=1.0)
    assert [step(i) for i in (0, 29, 30, 60, 99)] == [1.0, 1.0, 0.5, 0.25, 0.125]
    lin = lr_factor_fn("linear", total_steps=100, lr=2.0, min_lr=0.0)
    assert lin(50) == pytest.approx(0.5) and lin(100) == pytest.approx(0.0)
    assert lr_factor_fn("constant", total_steps=10, warmup_steps=2, lr=1.0)(7) == 1.0


def test_trainer_schedule_uses_epochs_of_warmup(tmp_path):
    from inria.train import TensorData, TrainConfig, Trainer

    seen = []

    def objective(model, batch, ctx):
        seen.append(ctx.trainer.optimizer.param_groups[0]["lr"])
        return torch.nn.functional.cross_entropy(model(batch[0]), batch[1]), {}

    data = TensorData(torch.randn(32, 4), torch.randint(0, 2, (32,)))
    cfg = TrainConfig(epochs=4, batch_size=8, lr=0.4, warmup_epochs=1, lr_base_batch=16, min_lr=0.0)
    Trainer(torch.nn.Linear(4, 2), data, cfg, objective=objective).fit()
    # lr scaled by 8 / 16 -> 0.2 peak; 4 warm-up steps from 0; then cosine over 12 steps
    assert seen[:5] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    assert seen[-1] == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi * 11 / 12)))


def test_a_warmup_longer_than_the_run_is_warned_about():
    from inria.train import TensorData, TrainConfig, Trainer

    data = TensorData(torch.randn(32, 4), torch.randint(0, 2, (32,)))
    # steps set, warm-up in epochs kept from a default: 5 epochs of 4 steps + 2 steps, for a 6-step run
    cfg = TrainConfig(steps=6, batch_size=8, warmup_epochs=5, warmup_steps=2)
    with pytest.warns(UserWarning, match=r"warm-up of 22 steps .* run's 6 steps: lr never reaches 0.001"):
        Trainer(torch.nn.Linear(4, 2), data, cfg).fit()


def test_drop_path_rates_and_setting_them_on_a_timm_vit():
    import timm
    from timm.layers import DropPath

    assert drop_path_rates(0.1, 3) == pytest.approx([0.0, 0.05, 0.1])
    assert drop_path_rates(0.2, 3, "uniform") == [0.2, 0.2, 0.2]
    with pytest.raises(ValueError, match="linear, uniform"):
        drop_path_rates(0.1, 3, "cosine")
    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=4, img_size=32, patch_size=8,
                            drop_path_rate=0.0)
    assert not any(isinstance(m, DropPath) for m in vit.modules())  # timm puts Identity at rate 0
    rates = set_drop_path(vit, 0.3)
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3])
    probs = [b.drop_path1.drop_prob for b in vit.blocks[1:]] + [b.drop_path2.drop_prob for b in vit.blocks[1:]]
    assert probs == pytest.approx([0.1, 0.2, 0.3] * 2)
    set_drop_path(vit, 0.05, "uniform")
    assert all(b.drop_path1.drop_prob == 0.05 for b in vit.blocks[1:])


def test_two_named_trainings_of_one_step_log_apart(tmp_path):
    from inria.train import TensorData, TrainConfig, Trainer

    ctx = StepContext.standalone(tmp_path, step_id="fit")
    data = TensorData(torch.randn(16, 4), torch.randint(0, 2, (16,)))
    for name in ("stage1", "stage2"):
        Trainer(torch.nn.Linear(4, 2), data, TrainConfig(steps=2, batch_size=8, log_every=2), ctx=ctx, name=name,
                checkpoint_dir=ctx.checkpoint_dir / name).fit()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["source"] for r in rows] == ["fit/stage1", "fit/stage2"]
    assert (ctx.checkpoint_dir / "stage1" / "last.pt").is_file() and (ctx.checkpoint_dir / "stage2" / "last.pt").is_file()
