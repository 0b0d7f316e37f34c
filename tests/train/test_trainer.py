"""The loop: it learns, logs, accumulates, clips, averages (EMA) and uses the named components."""
import json

import pytest
import torch

import inria
from inria.context import StepContext
from inria.errors import InriaError
from inria.train import TensorData, TrainConfig, Trainer, fit


def blobs(n=128, d=8, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    return x, (x @ torch.randn(d, c, generator=g)).argmax(1)


def mlp(d=8, c=3, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.LayerNorm(32), torch.nn.ReLU(), torch.nn.Linear(32, c))


def test_cross_entropy_training_learns_and_writes_metrics_jsonl(tmp_path):
    x, y = blobs()
    ctx = StepContext.standalone(tmp_path, step_id="clf")
    model = mlp()
    with torch.no_grad():
        before = (model(x).argmax(1) == y).float().mean().item()
    out = fit(model, TensorData(x, y), TrainConfig(epochs=15, batch_size=16, lr=1e-2, log_every=10), ctx=ctx)
    with torch.no_grad():
        after = (model(x).argmax(1) == y).float().mean().item()
    assert after > 0.9 and after > before + 0.2
    assert out["steps"] == 120 and out["acc"] > 0.85 and out["img_s_mean"] > 0
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(10, 121, 10))
    assert {"source", "loss", "acc", "lr", "img_s", "epoch"} <= rows[0].keys() and rows[0]["source"] == "clf"
    assert rows[-1]["loss"] < rows[0]["loss"] and rows[-1]["lr"] == pytest.approx(0.0)


def test_mse_autoencoder_on_bare_tensor_batches(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(64, 6) @ torch.randn(6, 6)
    model = torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.Linear(3, 6))
    cfg = TrainConfig(epochs=30, batch_size=16, lr=3e-2, objective="mse", weight_decay=0.0, log_every=1000)
    out = fit(model, TensorData(x), cfg, ctx=StepContext.standalone(tmp_path))
    assert out["loss"] < 0.5 * float(x.var())


def test_accumulation_equals_a_bigger_batch(tmp_path):
    x, y = blobs(64)
    weights = []
    for batch, accum in ((16, 1), (8, 2)):
        model = mlp()
        cfg = TrainConfig(steps=6, batch_size=batch, accum=accum, lr=1e-2, optimizer="sgd", log_every=100)
        fit(model, TensorData(x, y), cfg, ctx=StepContext.standalone(tmp_path / f"{batch}"))
        weights.append(model.state_dict())
    for k in weights[0]:
        torch.testing.assert_close(weights[0][k], weights[1][k], rtol=1e-5, atol=1e-6)


def test_clipping_bounds_the_step_and_reports_grad_norm(tmp_path):
    x, y = blobs(32)
    y = y * 0 + 2  # an easy, large first gradient
    model = mlp()
    start = [p.detach().clone() for p in model.parameters()]
    cfg = TrainConfig(steps=1, batch_size=32, lr=1.0, optimizer="sgd", optimizer_args={"momentum": 0.0},
                      weight_decay=0.0, schedule="constant", clip_grad=0.01, log_every=1)
    out = fit(model, TensorData(x * 100, y), cfg, ctx=StepContext.standalone(tmp_path))
    moved = torch.sqrt(sum(((p - s) ** 2).sum() for p, s in zip(model.parameters(), start)))
    assert out["grad_norm"] > 0.01  # the raw norm was above the threshold ...
    assert moved.item() == pytest.approx(0.01, rel=1e-3)  # ... and the SGD step has the clipped norm


def test_ema_follows_the_model_with_lag(tmp_path):
    x, y = blobs(64)
    model = mlp()
    t = Trainer(model, TensorData(x, y), TrainConfig(epochs=3, batch_size=16, ema=True, ema_decay=0.9, log_every=100),
                ctx=StepContext.standalone(tmp_path))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    t.fit()
    ema = t.ema_module.state_dict()
    w = model.state_dict()["3.weight"]
    assert not torch.equal(ema["3.weight"], w) and not torch.equal(ema["3.weight"], init["3.weight"])
    # the EMA lies between the start and the end
    assert (ema["3.weight"] - w).norm() < (init["3.weight"] - w).norm()


def test_param_group_all_matches_timm_and_freezes_nothing():
    from timm.optim import param_groups_weight_decay

    from inria.registry import get_registry

    model = mlp()
    rule = get_registry().load("param_groups", "all")
    ours = rule(model, weight_decay=0.05)
    theirs = param_groups_weight_decay(model, weight_decay=0.05)
    assert [(g["weight_decay"], [id(p) for p in g["params"]]) for g in ours] == \
           [(g["weight_decay"], [id(p) for p in g["params"]]) for g in theirs]
    assert len(ours[0]["params"]) == 4 and ours[0]["weight_decay"] == 0.0  # biases + LayerNorm


def test_a_plugin_param_group_rule_freezes_what_it_leaves_out(tmp_path):
    from inria.testing import fake_plugin

    src = "def head_only(model, weight_decay):\n    return [{'params': list(model[3].parameters()), 'lr_scale': 2.0}]\n"
    with fake_plugin(tmp_path / "p", "inria-plugin-headonly", entry_points={"inria.param_groups": {"head_only": "ho_mod:head_only"}},
                     files={"ho_mod.py": src}):
        x, y = blobs(32)
        model = mlp()
        first = model[0].weight.detach().clone()
        t = Trainer(model, TensorData(x, y), TrainConfig(steps=3, batch_size=8, lr=0.1, param_groups="head_only",
                                                         schedule="constant", log_every=100),
                    ctx=StepContext.standalone(tmp_path / "run"))
        assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.2)
        t.fit()
        assert torch.equal(model[0].weight, first) and not model[0].weight.requires_grad


@pytest.mark.parametrize("name", ["adamw", "sgd", "lamb"])
def test_core_optimizers_by_name(tmp_path, name):
    x, y = blobs(64)
    model = mlp()
    out = fit(model, TensorData(x, y), TrainConfig(epochs=10, batch_size=16, lr=2e-2 if name != "sgd" else 0.1,
                                                   optimizer=name, log_every=1000),
              ctx=StepContext.standalone(tmp_path))
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() > 0.85 and out["steps"] == 40
    expected = {"adamw": "AdamW", "sgd": "SGD", "lamb": "Lamb"}[name]
    assert inria.available("optimizers") and name in inria.available("optimizers")
    from inria.registry import get_registry

    opt = get_registry().load("optimizers", name)([{"params": [torch.nn.Parameter(torch.zeros(2))]}], lr=0.1,
                                                  weight_decay=0.0)
    assert type(opt).__name__ == expected


def test_mixup_augmentation_soft_targets(tmp_path):
    x = torch.rand(32, 3, 8, 8)
    y = torch.arange(32) % 4
    seen = []

    def objective(model, batch, ctx):
        seen.append(batch[1].clone())
        return torch.nn.functional.cross_entropy(model(batch[0]), batch[1]), {}

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 4))
    cfg = TrainConfig(steps=2, batch_size=8, augmentation="mixup",
                      augmentation_args={"mixup": {"num_classes": 4, "label_smoothing": 0.0}}, log_every=100)
    Trainer(model, TensorData(x, y), cfg, ctx=StepContext.standalone(tmp_path), objective=objective).fit()
    assert seen[0].shape == (8, 4) and torch.allclose(seen[0].sum(1), torch.ones(8))
    assert ((seen[0] > 0) & (seen[0] < 1)).any()  # mixed, not one-hot
    with pytest.raises(InriaError, match="num_classes"):
        Trainer(model, TensorData(x, y), cfg.replace(augmentation_args={"mixup": {}}),
                ctx=StepContext.standalone(tmp_path))
    with pytest.raises(InriaError, match="even batch"):
        Trainer(model, TensorData(x, y), cfg.replace(batch_size=7), ctx=StepContext.standalone(tmp_path),
                objective=objective).fit()


def test_components_from_different_plugins_combine(tmp_path):
    from inria.testing import fake_plugin

    obj_src = (
        "import torch\n"
        "class Scaled:\n"
        "    def __init__(self, factor=1.0): self.factor = factor\n"
        "    def __call__(self, model, batch, ctx):\n"
        "        x, y = batch\n"
        "        return self.factor * torch.nn.functional.cross_entropy(model(x), y), {'factor': self.factor}\n")
    aug_src = "def flip_sign(batch, ctx):\n    return [-batch[0], batch[1]]\n"
    with fake_plugin(tmp_path / "a", "inria-plugin-obj", entry_points={"inria.objectives": {"scaled": "obj_mod:Scaled"}},
                     files={"obj_mod.py": obj_src}), \
         fake_plugin(tmp_path / "b", "inria-plugin-aug", entry_points={"inria.augmentations": {"flip_sign": "aug_mod:flip_sign"}},
                     files={"aug_mod.py": aug_src}):
        x, y = blobs(32)
        cfg = TrainConfig.from_dict({"steps": 2, "batch_size": 8, "objective": "scaled",
                                     "objective_args": {"factor": 3.0}, "augmentation": ["flip_sign"],
                                     "optimizer": "lamb", "log_every": 1})
        out = fit(mlp(), TensorData(x, y), cfg, ctx=StepContext.standalone(tmp_path / "run"))
        assert out["factor"] == 3.0
        with pytest.raises(InriaError, match="did you mean 'scaled'"):
            Trainer(mlp(), TensorData(x, y), cfg.replace(objective="scaleed"))


def test_train_config_validation_is_one_line():
    with pytest.raises(InriaError, match=r"train.lrr: unknown key 'lrr'|unknown key 'lrr'.*did you mean 'lr'"):
        TrainConfig.from_dict({"lrr": 0.1})
    with pytest.raises(InriaError, match="batch_size must be >= 1"):
        TrainConfig.from_dict({"batch_size": 0})
    with pytest.raises(InriaError, match="schedule"):
        TrainConfig.from_dict({"schedule": "cosin"})
    with pytest.raises(InriaError, match="fp16 autocast needs CUDA"):
        Trainer(mlp(), TensorData(*blobs(16)), TrainConfig(amp="fp16", batch_size=4))


def test_bf16_autocast_on_cpu_when_asked(tmp_path):
    dtypes = []

    def objective(model, batch, ctx):
        out = model(batch[0])
        dtypes.append(out.dtype)
        return torch.nn.functional.cross_entropy(out.float(), batch[1]), {}

    t = Trainer(mlp(), TensorData(*blobs(16)), TrainConfig(steps=1, batch_size=8, amp="bf16"), objective=objective)
    t.fit()
    assert dtypes == [torch.bfloat16] and t.amp_dtype is torch.bfloat16
    assert Trainer(mlp(), TensorData(*blobs(16)), TrainConfig(batch_size=8)).amp_dtype is None  # auto = fp32 on CPU


def test_callbacks_get_epochs_and_their_metrics_are_logged(tmp_path):
    class Val:
        epochs = []

        def on_epoch_end(self, trainer, epoch):
            self.epochs.append(epoch)
            return {"val_acc": 0.5 + epoch}

    ctx = StepContext.standalone(tmp_path)
    out = fit(mlp(), TensorData(*blobs(32)), TrainConfig(epochs=2, batch_size=8, log_every=100), ctx=ctx,
              callbacks=[Val()])
    assert Val.epochs == [0, 1] and out["val_acc"] == 1.5
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("val_acc") for r in rows if "val_acc" in r] == [0.5, 1.5]


def test_core_table_mirrors_the_installed_entry_points():
    from inria.registry import get_registry
    from inria.train.components import CORE

    reg = get_registry()
    for group, names in CORE.items():
        installed = {e.name: e.value.replace(" ", "") for e in reg.entries(group) if e.distribution == "inria"}
        assert installed == names, group


def test_core_names_resolve_from_a_source_tree_without_metadata(monkeypatch, tmp_path):
    """PYTHONPATH=core (the GPU script) has no entry points: core names still work, others still fail."""
    from inria import registry

    empty = registry.Registry.__new__(registry.Registry)
    empty._entries, empty._loaded = [], {}
    monkeypatch.setattr(registry, "_REGISTRY", empty)
    cfg = TrainConfig(steps=2, batch_size=8, optimizer="lamb", augmentation="mixup",
                      augmentation_args={"mixup": {"num_classes": 3}}, log_every=100)
    assert fit(mlp(), TensorData(*blobs(32)), cfg)["steps"] == 2
    plain = cfg.replace(objective="bce", augmentation=[], augmentation_args={})
    assert fit(mlp(), TensorData(*blobs(32)), plain)["steps"] == 2  # bce is the core's
    with pytest.raises(InriaError, match="unknown augmentation 'three_augment'"):  # a plugin's name is not
        Trainer(mlp(), TensorData(*blobs(32)), cfg.replace(augmentation="three_augment"))


def test_repeated_augmentation_sampler():
    from inria.train.data import ResumableSampler

    data = list(range(12))
    one = ResumableSampler(data, num_replicas=1, rank=0, seed=1, repeats=3)
    one.set_epoch(0)
    idx = list(one)
    assert len(idx) == 12 and all(idx[i] == idx[i + 1] == idx[i + 2] for i in range(0, 12, 3))
    ranks = [ResumableSampler(data, num_replicas=3, rank=r, seed=1, repeats=3) for r in range(3)]
    per_rank = [list(s) for s in ranks]
    assert all(len(p) == 4 for p in per_rank)
    assert per_rank[0] == per_rank[1] == per_rank[2]  # each rank gets one copy of the same images
    one.set_epoch(1)
    epoch1 = list(one)
    assert epoch1 != idx  # a new order each epoch
    again = ResumableSampler(data, num_replicas=1, rank=0, seed=1, repeats=3)
    again.set_epoch(1)
    again.start = 5  # a resume 5 samples into epoch 1
    assert list(again) == epoch1[5:] and len(again) == 7


@pytest.mark.slow
def test_compile_trains_and_checkpoints_bare_keys(tmp_path):
    ctx = StepContext.standalone(tmp_path)
    model = mlp()
    t = Trainer(model, TensorData(*blobs(64)), TrainConfig(epochs=3, batch_size=16, compile=True, log_every=100),
                ctx=ctx)
    assert t.model is not model
    t.fit()
    from inria.train.checkpoint import load

    keys = set(load(ctx.checkpoint_dir / "last.pt")["model"])
    assert keys == set(model.state_dict()) and not any("_orig_mod" in k for k in keys)


def test_without_ctx_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t = Trainer(mlp(), TensorData(*blobs(16)), TrainConfig(epochs=2, batch_size=8, log_every=1))
    assert t.fit()["steps"] == 4 and t.checkpoint_path is None
    assert list(tmp_path.iterdir()) == []
