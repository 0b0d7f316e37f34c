"""python -m inria_pq_mim.diagnose: its figures are consistent with the bytes and the codebooks."""
import math

from inria_pq_mim.diagnose import diagnose


def test_diagnose_reports_ceiling_usage_and_rate_split(tiny, photo):
    d = diagnose(tiny, [photo])
    m, k = tiny.config.num_subquantizers, tiny.config.codebook_size
    assert sorted(d["psnr_by_active"]) == [1, 2, m]
    assert all(math.isfinite(p) for p in d["psnr_by_active"].values())
    assert len(d["per_subquantizer"]) == m
    for s in d["per_subquantizer"]:
        assert 1 <= s["used"] <= k
        assert 1 <= s["perplexity"] <= s["used"] + 1e-9  # 2**entropy never exceeds the codewords used
    r = d["rate"]
    assert r["positions"] == (48 // 4) * (64 // 4)
    assert r["bits_per_subindex_iid"] <= r["bits_per_subindex_uniform"] == math.log2(k)
    stream = tiny.compress(photo)
    assert r["bits_per_subindex_coded"] == len(stream) * 8 / (r["positions"] * m)
