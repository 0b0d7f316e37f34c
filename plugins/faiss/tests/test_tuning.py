"""Auto-tuning (ParameterSpace.explore) and evaluation (recall, QPS, sizes, operating points)."""
import numpy as np
import pytest
import yaml

import inria
from inria.errors import InriaError
from inria.eval.metrics import recall_at_k
from inria_faiss import FaissIndex


@pytest.fixture(scope="module")
def ivf(data):
    xb, _ = data
    ix = inria.create("index", "faiss", factory="IVF64,Flat")
    ix.train(xb)
    ix.add(xb)
    return ix


def test_tune_keeps_the_fastest_point_meeting_the_target(tmp_path, data, brute, ivf):
    xb, xq = data
    _, gt = brute(xb, xq, 1)
    point = ivf.tune(xq, ground_truth=gt, target_recall=0.9, k=10)
    nprobe = point["param"]
    assert nprobe.startswith("nprobe=") and point["recall@10"] >= 0.9
    assert ivf.faiss_index.nprobe == int(nprobe.split("=")[1])
    # the recall really is met at that setting, measured independently
    assert recall_at_k(ivf.search(xq, 10)[1], gt, 10) >= 0.9
    d = ivf.save(tmp_path / "tuned")
    card = yaml.safe_load((d / "card.yaml").read_text())
    assert card["extra"]["operating_point"]["param"] == nprobe
    assert card["extra"]["operating_point"]["target_recall"] == 0.9
    assert card["config"]["search_params"] == {"nprobe": int(nprobe.split("=")[1])}
    back = FaissIndex.load(d)
    assert back.faiss_index.nprobe == ivf.faiss_index.nprobe and back.operating_point["param"] == nprobe


def test_fastest_meeting_picks_by_qps_among_accurate_points():
    from inria_faiss.tuning import fastest_meeting, spread

    pts = [{"param": "nprobe=1", "recall@10": 0.5, "qps": 900.0},
           {"param": "nprobe=4", "recall@10": 0.91, "qps": 300.0},
           {"param": "nprobe=8", "recall@10": 0.95, "qps": 350.0},  # faster than nprobe=4 (noise happens)
           {"param": "nprobe=16", "recall@10": 0.99, "qps": 100.0}]
    assert fastest_meeting(pts, 0.9, 10)["param"] == "nprobe=8"
    assert fastest_meeting(pts, 0.96, 10)["param"] == "nprobe=16"
    with pytest.raises(InriaError, match="best: 0.990 at 'nprobe=16'"):
        fastest_meeting(pts, 0.999, 10)
    assert [p["param"] for p in spread(pts, 2)] == ["nprobe=1", "nprobe=16"]


def test_tune_with_base_vectors_instead_of_ground_truth(data, ivf):
    xb, xq = data
    point = ivf.tune(xq, base=xb, target_recall=0.5, k=1)
    assert point["recall@1"] >= 0.5


def test_unreachable_target_is_a_clear_error(data, ivf):
    xb, xq = data
    # IVF's explore range stops at nprobe = nlist / 2 = 32: recall@1 = 1.0 on every query is out of reach here
    with pytest.raises(InriaError, match=r"no operating point reaches recall@1 >= 1.01 \(best: "):
        ivf.tune(xq, base=xb, target_recall=1.01, k=1)


def test_tune_needs_ground_truth_or_base(data, ivf):
    _, xq = data
    with pytest.raises(InriaError, match="needs the base vectors or a ground truth"):
        ivf.tune(xq)
    with pytest.raises(InriaError, match="ground truth of shape"):
        ivf.tune(xq, ground_truth=np.zeros((5, 3), np.int64))


def test_evaluate_metrics(data, brute, ivf):
    xb, xq = data
    ivf.set_search_params({"nprobe": 4})
    m = ivf.evaluate(xq, base=xb)
    _, gt = brute(xb, xq, 1)
    _, I = ivf.search(xq, 100)
    for k in (1, 10, 100):
        assert m[f"recall@{k}"] == pytest.approx(recall_at_k(I, gt, k))
    assert m["recall@1"] <= m["recall@10"] <= m["recall@100"]
    assert m["qps"] > 0 and m["nq"] == 100 and m["ntotal"] == len(xb)
    assert 32 * 4 <= m["bytes_per_vector"] < 32 * 4 + 64  # float32 codes + an 8-byte id + the centroids
    assert m["search_params"] == "nprobe=4" and ivf.faiss_index.nprobe == 4  # restored after exploring
    pts = m["operating_points"]
    assert 3 <= len(pts) <= 12 and all(set(p) == {"param", "recall@10", "qps"} for p in pts)
    recalls = [p["recall@10"] for p in pts]
    assert recalls == sorted(recalls) and recalls[-1] > recalls[0]
    nprobes = {int(p["param"].split("=")[1]) for p in pts}
    assert nprobes <= {1, 2, 4, 8, 16, 32} and len(nprobes) == len(pts)


def test_evaluate_with_user_ids_and_cosine(data):
    xb, xq = data
    ids = np.arange(len(xb)) * 5 + 3
    ix = inria.create("index", "faiss", factory="HNSW16", metric="cosine")
    ix.add(xb, ids)
    m = ix.evaluate(xq, base=xb, ids=ids, ks=[1, 10], max_points=3)
    assert m["recall@10"] > 0.8  # ground truth is mapped through the ids
    assert len(m["operating_points"]) == 3 and m["operating_points"][0]["param"].startswith("efSearch=")
    assert "recall@100" not in m


def test_flat_has_one_operating_point_with_perfect_recall(data):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="Flat")
    ix.add(xb)
    m = ix.evaluate(xq, base=xb)
    assert m["recall@1"] == 1.0 and m["bytes_per_vector"] == pytest.approx(128, abs=1)
    assert len(m["operating_points"]) == 1 and m["operating_points"][0]["recall@10"] == 1.0
