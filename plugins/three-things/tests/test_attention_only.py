"""The core's param_groups 'attention_only' on these ViTs and on a deit3 model created by name."""
import torch

import inria
from inria.context import StepContext
from inria.train.components import resolve


def selected(module):
    groups = resolve("param_groups", "attention_only")(module, weight_decay=0.05, report=False)
    ids = {id(p) for g in groups for p in g["params"]}
    return {n for n, p in module.named_parameters() if id(p) in ids}


def test_parallel_vit_trains_every_attention_branch_head_and_pos_embed(make):
    module = make(parallel=2, stem="hmlp").module
    expected = {f"blocks.{i}.attns.{j}.attn.{m}.{w}" for i in (0, 1) for j in (0, 1) for m in ("qkv", "proj")
                for w in ("weight", "bias")} | {"head.weight", "head.bias", "pos_embed"}
    assert selected(module) == expected


def test_deit3_by_name_gets_the_official_rule():
    deit3 = inria.create("backbone", "deit3_tiny", img_size=32, patch_size=8, depth=2, num_classes=3).module
    official = {n for n, _ in deit3.named_parameters() if ".attn." in n} | {"head.weight", "head.bias", "pos_embed"}
    assert selected(deit3) == official and len(official) == 2 * 4 + 3


def test_attention_only_fine_tuning_moves_only_those_and_prints_the_share(make, tmp_path, capsys):
    from inria.data.images import digits

    x, y = digits("train", size=32)
    bb = make(train={"epochs": 1, "batch_size": 64, "param_groups": "attention_only", "lr": 1e-3})
    before = {n: p.detach().clone() for n, p in bb.module.named_parameters()}
    bb.fit(x[:256], y[:256] % 3, ctx=StepContext.standalone(tmp_path))
    moved = {n for n, p in bb.module.named_parameters() if not torch.equal(p, before[n])}
    assert moved == selected(bb.module)
    total = sum(p.numel() for p in bb.module.parameters())
    share = sum(p.numel() for n, p in bb.module.named_parameters() if n in moved) / total
    assert f"({100 * share:.2f} %" in capsys.readouterr().out
    assert all(p.requires_grad for p in bb.module.parameters())  # frozen for that run only
