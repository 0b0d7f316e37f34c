"""Integer probability tables, the range coder, and the deterministic coding schedule."""
import numpy as np
import pytest

from inria_pq_mim import entropy_coding as ec
from inria_pq_mim.entropy_model import coding_order, group_bounds, tiles


def test_tables_are_integers_every_symbol_codable_and_close_to_softmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (50, 256))
    f = ec.integer_frequencies(logits, 16)
    assert f.dtype == np.int64 and (f >= 1).all() and (f.sum(1) <= 2 ** ec.FREQ_BITS).all()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    q = f / f.sum(1, keepdims=True)
    kl = (p * np.log(p / q)).sum(1)
    assert kl.max() < 2e-3  # grid rounding (1/16 nat) costs < 0.003 bits a symbol


def test_tables_ignore_float_noise_below_the_grid():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (200, 64))
    noisy = logits * (1 + 1e-13) + 1e-13  # what another batch size / thread count does to float64 logits
    assert np.array_equal(ec.integer_frequencies(logits, 16), ec.integer_frequencies(noisy, 16))


def test_non_finite_logits_are_an_error():
    from inria.errors import InriaError

    with pytest.raises(InriaError, match="non-finite"):
        ec.integer_frequencies(np.array([[0.0, np.nan]]), 16)


def test_range_coder_roundtrip_in_several_calls():
    rng = np.random.default_rng(2)
    f = ec.integer_frequencies(rng.normal(0, 5, (300, 40)), 16)
    p = f / f.sum(1, keepdims=True)
    sym = np.array([rng.choice(40, p=row) for row in p])
    enc = ec.Encoder()
    enc.encode(sym[:100], f[:100])
    enc.encode(sym[100:], f[100:])
    data = enc.finish()
    assert not data.endswith(b"\0")  # trailing zero bytes are dropped...
    dec = ec.Decoder(data)  # ...and restored by the decoder
    out = np.concatenate([dec.decode(f[:100]), dec.decode(f[100:])])
    assert np.array_equal(out, sym) and dec.check == enc.check
    # the rate is the information content, within a few bytes
    bits = -np.log2(p[np.arange(len(sym)), sym]).sum()
    assert len(data) * 8 <= bits + 64


def test_coding_order_is_a_fixed_permutation():
    order = coding_order(8, 8)
    assert sorted(order.tolist()) == list(range(64))
    assert order.tolist() != list(range(64))
    # pinned: changing the order silently would make old bitstreams undecodable
    assert order[:6].tolist() == [1, 47, 36, 50, 9, 34]


@pytest.mark.parametrize("n,groups", [(64, 8), (5, 8), (1, 1), (256, 12), (7, 7)])
@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_group_bounds_cover_every_position_once(n, groups, schedule):
    b = group_bounds(n, groups, schedule)
    assert len(b) == groups + 1 and b[0] == 0 and b[-1] == n
    assert all(x <= y for x, y in zip(b, b[1:]))
    if n >= groups:
        assert all(x < y for x, y in zip(b, b[1:]))  # no empty group


def test_cosine_groups_start_small():
    b = group_bounds(64, 8, "cosine")
    sizes = np.diff(b)
    assert sizes[0] < sizes[-1]


def test_tiles_cover_the_grid():
    ts = tiles(10, 7, 4)
    cover = np.zeros((10, 7), int)
    for t in ts:
        cover[t.y:t.y + t.h, t.x:t.x + t.w] += 1
    assert (cover == 1).all()
