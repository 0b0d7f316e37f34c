"""torch and faiss in one process: two OpenMP runtimes (see inria_faiss/threads.py)."""
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent("""
    import numpy as np
    {first}
    {second}
    import inria
    from inria_faiss import set_threads, get_threads
    set_threads(2)
    assert get_threads() == {{"faiss": 2, "torch": 2}}, get_threads()
    x = np.random.default_rng(0).standard_normal((4000, 32)).astype("float32")
    ix = inria.create("index", "faiss", factory="IVF16,Flat", search_params={{"nprobe": 16}})
    ix.train(x)
    ix.add(x)
    for _ in range(3):
        t = torch.arange(0, 100_000, dtype=torch.float32)  # large enough for torch's parallel kernels
        y = torch.nn.functional.linear(torch.from_numpy(x), torch.randn(64, 32)).relu().sum()
        D, I = ix.search(torch.from_numpy(x[:200]), 5)       # a tensor goes in directly
        assert (I[:, 0] == np.arange(200)).all()
    print("ok", float(t.sum()) > 0, bool(torch.isfinite(y)))
""")


def run(first, second):
    code = SCRIPT.format(first=first, second=second)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "INRIA_PROGRESS": "0"})


def test_faiss_imported_before_torch():
    # faiss#4273 reports a segfault in torch.arange(>32768) in this import order
    r = run("import faiss", "import torch")
    assert r.returncode == 0 and r.stdout.strip() == "ok True True", r.stderr[-2000:]


def test_torch_and_faiss_interleaved_in_this_process(data):
    import faiss
    import torch

    import inria
    from inria_faiss import get_threads, set_threads

    xb, xq = data
    before = get_threads()
    try:
        set_threads(2)
        ix = inria.create("index", "faiss", factory="HNSW16", search_params={"efSearch": 64})
        ix.add(xb)
        lin = torch.nn.Linear(32, 32)
        for _ in range(3):
            with torch.no_grad():
                emb = lin(torch.from_numpy(xq)).numpy()
            D, I = ix.search(emb, 5)
            assert I.shape == (100, 5) and (I >= 0).all()
            assert float(torch.arange(50_000, dtype=torch.float64).sum()) == 50_000 * 49_999 / 2
    finally:
        faiss.omp_set_num_threads(before["faiss"])
        torch.set_num_threads(before.get("torch", torch.get_num_threads()))
