import inria
from inria.interfaces import Index


def test_discovered_and_created():
    assert "faiss" in inria.available("index")
    ix = inria.create("index", "faiss", factory="IVF64,PQ8", metric="cosine")
    assert isinstance(ix, Index)
    assert type(ix).__name__ == "FaissIndex"
    assert ix.config.factory == "IVF64,PQ8" and ix.config.metric == "cosine"
    assert ix.ntotal == 0


def test_describe_lists_config_and_verbs():
    text = inria.describe("faiss", "index")
    for word in ("factory", "metric", "search_params", "device", "build(", "search(", "tune(", "evaluate("):
        assert word in text, word
