"""Model directories: card + index file, round trips, mmap."""
import numpy as np
import pytest
import yaml

import inria
from inria_faiss import FaissIndex


@pytest.mark.parametrize("factory,metric,with_ids", [
    ("Flat", "l2", False), ("HNSW16", "cosine", True), ("IVF16,PQ8np", "ip", True), ("PCA16,IVF16,SQ8", "l2", False),
])
def test_round_trip_gives_identical_results(tmp_path, data, factory, metric, with_ids):
    xb, xq = data
    ix = inria.create("index", "faiss", factory=factory, metric=metric, search_params={})
    ix.train(xb)
    ix.add(xb, np.arange(len(xb)) * 2 + 1 if with_ids else None)
    if "IVF" in factory:
        ix.set_search_params({"nprobe": 4})
    D, I = ix.search(xq, 10)
    d = ix.save(tmp_path / "m")
    card = yaml.safe_load((d / "card.yaml").read_text())
    assert card["implementation"] == "faiss" and card["distribution"] == "inria-plugin-faiss"
    assert card["config"]["factory"] == factory and card["config"]["dim"] == 32
    assert card["extra"]["ntotal"] == len(xb) and card["extra"]["faiss_version"]
    assert card["extra"]["ids"] == ("user" if with_ids else "sequential")
    back = FaissIndex.load(d)
    assert back.ntotal == len(xb) and back.config.search_params == ix.config.search_params
    D2, I2 = back.search(xq, 10)
    np.testing.assert_array_equal(I, I2)
    np.testing.assert_array_equal(D, D2)
    mm = FaissIndex.load(d, mmap=True)
    np.testing.assert_array_equal(I, mm.search(xq, 10)[1])
    # a loaded index keeps its id mode: adding on keeps working
    back.add(xb[:5], np.arange(5) + 10**6 if with_ids else None)
    assert back.ntotal == len(xb) + 5


def test_load_overrides_config(tmp_path, data):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="IVF16,Flat")
    ix.train(xb)
    ix.add(xb)
    d = ix.save(tmp_path / "m")
    back = FaissIndex.load(d, search_params={"nprobe": 8})
    assert back.faiss_index.nprobe == 8
    assert inria.create("index", "faiss").load(d).faiss_index.nprobe == 1


def test_save_is_atomic_and_can_overwrite(tmp_path, data):
    xb, _ = data
    ix = inria.create("index", "faiss", factory="Flat")
    ix.add(xb[:10])
    d = ix.save(tmp_path / "m")
    ix.add(xb[10:20])
    ix.save(d)
    assert FaissIndex.load(d).ntotal == 20
    assert sorted(p.name for p in d.iterdir()) == ["card.yaml", "index.faiss"]
