"""param_groups 'attention_only': the official --attn-only rule (attention, head, pos_embed) on any ViT."""
import pytest
import torch

from inria.context import StepContext
from inria.errors import InriaError
from inria.train import TensorData, TrainConfig, Trainer


def vit(block="plain", seed=0):
    from timm.models.vision_transformer import ParallelThingsBlock, VisionTransformer

    torch.manual_seed(seed)
    kw = {"block_fn": ParallelThingsBlock} if block == "parallel" else {}
    return VisionTransformer(img_size=16, patch_size=8, embed_dim=24, depth=2, num_heads=2, num_classes=3,
                             init_values=1e-4, **kw)


def rule():
    from inria.train.components import resolve

    return resolve("param_groups", "attention_only")


def official_rule(model):
    """deit main.py --attn-only, written out: '.attn.' in the name, the head and pos_embed."""
    return {n for n, _ in model.named_parameters() if ".attn." in n or n in ("head.weight", "head.bias", "pos_embed")}


def selected(groups, model):
    ids = {id(p) for g in groups for p in g["params"]}
    return {n for n, p in model.named_parameters() if id(p) in ids}


def test_plain_vit_selects_exactly_the_official_set_and_prints_the_share(capsys):
    model = vit()
    groups = rule()(model, weight_decay=0.05)
    names = selected(groups, model)
    assert names == official_rule(model)
    assert {f"blocks.{i}.attn.{m}.{w}" for i in (0, 1) for m in ("qkv", "proj") for w in ("weight", "bias")} <= names
    assert not any("mlp" in n or "norm" in n or "ls" in n or n.startswith(("patch_embed", "cls_token")) for n in names)
    # no decay on biases and pos_embed, decay on the matrices
    decayed = {n for n, p in model.named_parameters() if any(p is q for g in groups if g["weight_decay"] for q in g["params"])}
    assert decayed == {n for n in names if n.endswith("weight") and "norm" not in n}
    total = sum(p.numel() for p in model.parameters())
    share = sum(p.numel() for n, p in model.named_parameters() if n in names) / total
    out = capsys.readouterr().out
    assert "attention_only" in out and f"{100 * share:.2f} %" in out and f"of {total:,} parameters" in out


def test_parallel_blocks_train_every_attention_branch():
    model = vit("parallel")
    names = selected(rule()(model, weight_decay=0.0, report=False), model)
    for i in (0, 1):
        for k in (0, 1):
            assert f"blocks.{i}.attns.{k}.attn.qkv.weight" in names
            assert f"blocks.{i}.attns.{k}.norm.weight" not in names and f"blocks.{i}.ffns.{k}.mlp.fc1.weight" not in names
    # the official second-branch names (attn1) count too
    official = torch.nn.Module()
    official.blocks = torch.nn.ModuleList([torch.nn.Module()])
    official.blocks[0].attn, official.blocks[0].attn1 = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    official.blocks[0].mlp1 = torch.nn.Linear(2, 2)
    names = selected(rule()(official, weight_decay=0.0, head=False, pos_embed=False, report=False), official)
    assert names == {"blocks.0.attn.weight", "blocks.0.attn.bias", "blocks.0.attn1.weight", "blocks.0.attn1.bias"}


def test_options_head_pos_embed_and_also():
    model = vit()
    names = selected(rule()(model, weight_decay=0.0, head=False, pos_embed=False, also=["cls_token"], report=False),
                     model)
    assert names == {n for n in official_rule(model) if ".attn." in n} | {"cls_token"}


def test_training_moves_only_the_selected_parameters(tmp_path, capsys):
    model = vit()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x, y = torch.rand(32, 3, 16, 16), torch.randint(0, 3, (32,))
    cfg = TrainConfig(steps=4, batch_size=8, lr=1e-2, param_groups="attention_only", log_every=100)
    Trainer(model, TensorData(x, y), cfg, ctx=StepContext.standalone(tmp_path)).fit()
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert moved == official_rule(model)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == official_rule(model)
    assert "parameters train" in capsys.readouterr().out


def test_a_model_without_attention_is_a_one_line_error():
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    with pytest.raises(InriaError) as e:
        rule()(mlp, weight_decay=0.05)
    text = str(e.value)
    assert "no attention parameters" in text and "Sequential" in text and "\n" not in text


def test_a_pattern_that_matches_nothing_is_a_one_line_error():
    with pytest.raises(InriaError, match=r"pattern 'cls_tokn' matches no parameter") as e:
        rule()(vit(), weight_decay=0.0, also=["cls_tokn"])
    assert "\n" not in str(e.value)
