"""The bundled quickstart runs end to end, offline, and its numbers say what they should."""
import json

from inria.recipe import load
from inria.runner import execute


def test_quickstart(tmp_path):
    run = execute(load("quickstart"), tmp_path / "runs")
    m = json.loads((run / "metrics.json").read_text())
    for codec in ("jpeg", "webp"):
        pts = sorted(m[codec]["rd"], key=lambda p: p["params"]["quality"])
        assert [p["bpp"] for p in pts] == sorted(p["bpp"] for p in pts)
        assert pts[-1]["psnr"] > pts[0]["psnr"] + 5
    # the classic DWT-DCT mark survives no attack and mild JPEG, with p-values from the binomial test
    assert m["detect"]["none"]["bit_accuracy"] >= 0.95 and m["detect"]["none"]["detected_rate"] == 1.0
    assert m["mark"]["psnr"] > 30
    assert (run / "report.html").stat().st_size > 50_000
    # Stable Signature's shipped model (trained on one CPU, short of the targets: see the plugin's README;
    # measured 2026-12-08: 0.917 / 0.875 / 0.865 bits and 1.0 / 0.75 / 1.0 detected unattacked / crop / brightness,
    # JPEG 80 not survived): the key comes out of the watermarked decoder, detected at FPR 1e-6 unattacked
    ss = m["ss_detect"]
    assert set(ss) == {"none", "crop_0.5", "jpeg_80", "brightness_1.5"}
    assert ss["none"]["bit_accuracy"] >= 0.85 and ss["none"]["detected_rate"] >= 0.75
    assert ss["none"]["median_log10_p"] < -6
    assert ss["crop_0.5"]["bit_accuracy"] >= 0.8 and ss["brightness_1.5"]["bit_accuracy"] >= 0.8
    assert m["ss_mark"]["psnr"] > 20
    # the shipped DeiT III digits model, its embeddings through a Faiss index, and a curated subset
    assert m["deit3"]["top1"] >= 0.95
    assert m["knn"]["knn10_accuracy"] >= 0.9
    assert m["index_eval"]["recall@10"] >= 0.9
    assert m["curated"]["selected"] == 60
    # PQ-MIM's shipped model: more sub-quantizers sent, more real bytes and more PSNR
    pq = sorted(m["pq_mim"]["rd"], key=lambda p: p["params"]["active_subquantizers"])
    assert pq[0]["bpp"] < pq[-1]["bpp"] and pq[0]["psnr"] < pq[-1]["psnr"]
