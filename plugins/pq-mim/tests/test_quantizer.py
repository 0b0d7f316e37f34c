"""The product quantizer: assignment, nested sub-quantizers, EMA updates, restarts, gradients."""
import pytest
import torch

from inria_pq_mim.quantizer import ProductQuantizer


def _pq(**kw):
    torch.manual_seed(0)
    return ProductQuantizer(8, 4, 16, **kw)


def test_encode_picks_the_nearest_codeword_of_each_subquantizer():
    pq = _pq()
    z = torch.randn(2, 8, 3, 5)
    idx = pq.encode(z)
    assert idx.shape == (2, 4, 3, 5)
    subs = z.permute(0, 2, 3, 1).reshape(-1, 4, 2)  # (N, M, sub)
    brute = torch.stack([torch.cdist(subs[:, j], pq.codebook[j]).argmin(1) for j in range(4)], 1)
    assert torch.equal(idx.permute(0, 2, 3, 1).reshape(-1, 4), brute)
    # decoding the indices gives back the codewords
    q = pq.decode(idx)
    assert torch.allclose(q.permute(0, 2, 3, 1).reshape(-1, 4, 2)[:, 1], pq.codebook[1][brute[:, 1]])


def test_inactive_subquantizers_take_the_absent_vector():
    pq = _pq()
    with torch.no_grad():
        pq.absent.fill_(7.0)
    idx = torch.randint(0, 16, (2, 4, 2, 2))
    q = pq.decode(idx, active=torch.tensor([1, 4]))
    assert (q[0, 2:] == 7).all()            # image 0 sends only sub-quantizer 0 (channels 0..1)
    assert not (q[0, :2] == 7).any()
    assert torch.equal(q[1], pq.decode(idx[1:2])[0])  # image 1 sends all of them


@pytest.mark.parametrize("update", ["ema", "loss"])
def test_training_moves_codewords_and_restarts_dead_ones(update):
    pq = _pq(update=update, decay=0.5, dead_threshold=0.05).train()
    z = torch.randn(4, 8, 8, 8) * 0.1 + 3.0  # data far from the initial codebook
    pq(z)  # first call: codebook initialised on the data
    assert bool(pq.initialized)
    with torch.no_grad():  # kill one codeword: it will never be assigned again
        pq.codebook.data[0, 5] = 1e3
        pq.ema_sum[0, 5] = 1e3
    restarted = sum(pq(z)["restarted"] for _ in range(10))
    assert restarted >= 1
    assert pq.codebook[0, 5].abs().max() < 10  # back among the data


def test_straight_through_gradient_reaches_the_encoder_and_the_codebook_in_loss_mode():
    pq = _pq(update="loss").train()
    z = torch.randn(2, 8, 4, 4, requires_grad=True)
    out = pq(z)
    (out["latent"].sum() + out["loss"]).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert pq.codebook.grad is not None and pq.codebook.grad.abs().sum() > 0


def test_perplexity_reports_codebook_usage():
    pq = _pq().train()
    out = pq(torch.randn(8, 8, 8, 8))
    assert 1.0 <= float(out["perplexity"]) <= 16.0
