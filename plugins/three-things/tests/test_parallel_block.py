"""Parallel blocks: each block is x + sum_i gamma_i Attn_i(LN_i x), then the same for the MLPs."""
import torch
import torch.nn.functional as F


def attention(attn, x):
    """Multi-head self-attention written out (softmax(q k^T / sqrt(d)) v, then the projection)."""
    n, t, d = x.shape
    h = attn.num_heads
    q, k, v = F.linear(x, attn.qkv.weight, attn.qkv.bias).reshape(n, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
    a = (q @ k.transpose(-2, -1) / (d // h) ** 0.5).softmax(-1)
    return F.linear((a @ v).transpose(1, 2).reshape(n, t, d), attn.proj.weight, attn.proj.bias)


def mlp(m, x):
    return F.linear(F.gelu(F.linear(x, m.fc1.weight, m.fc1.bias)), m.fc2.weight, m.fc2.bias)


def ln(norm, x):
    return F.layer_norm(x, norm.weight.shape, norm.weight, norm.bias, eps=1e-6)


def test_block_equals_the_formula(make):
    bb = make(parallel=3)
    block = bb.module.blocks[0]
    torch.manual_seed(1)
    with torch.no_grad():
        for p in block.parameters():  # LayerScale and norms away from their init, so each term counts
            p.normal_(0, 0.3)
    x = torch.randn(2, 17, 24)
    with torch.no_grad():
        y = x + sum(b.ls.gamma * attention(b.attn, ln(b.norm, x)) for b in block.attns)
        y = y + sum(b.ls.gamma * mlp(b.mlp, ln(b.norm, y)) for b in block.ffns)
        torch.testing.assert_close(block.eval()(x), y, rtol=1e-5, atol=1e-5)
    assert len(block.attns) == len(block.ffns) == 3


def test_parallel_6x2_and_sequential_12x1_have_the_same_parameters():
    import inria

    par = inria.create("backbone", "three_things_digits_6x2").module
    seq = inria.create("backbone", "three_things_digits_12x1").module
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(par) == count(seq) > 1_000_000
    assert len(par.blocks) == 6 and len(seq.blocks) == 12 and not hasattr(seq.blocks[0], "attns")


def test_model_forward_runs_the_blocks_on_the_tokens(make):
    bb = make(parallel=2, drop_path=0.0).module.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        t = bb._pos_embed(bb.patch_tokens(x))
        for block in bb.blocks:
            t = block(t)
        torch.testing.assert_close(bb(x), bb.head(bb.norm(t)[:, 0]))
