"""GPU handling. The real GPU path needs faiss-gpu and CUDA; here the GPU side is faked
(clones on the CPU) to test the decisions: what moves, what stays, what is said, what is saved."""
import faiss
import numpy as np
import pytest

import inria
from inria.errors import InriaError
from inria_faiss import gpu
from inria_faiss.index import FaissIndex


class FakeGpus:
    def __init__(self):
        self.to_gpu_calls, self.to_cpu_calls = [], 0

    def to_gpus(self, index, multi_gpu, float16):
        name = type(faiss.downcast_index(index)).__name__
        if "HNSW" in name:
            raise RuntimeError("Error in ... at GpuCloner.cpp:253: This index type is not implemented on GPU.")
        self.to_gpu_calls.append((name, multi_gpu, float16))
        return faiss.clone_index(index)

    def to_cpu(self, index):
        self.to_cpu_calls += 1
        return faiss.clone_index(index)


@pytest.fixture
def fake(monkeypatch):
    f = FakeGpus()
    monkeypatch.setattr(gpu, "faiss_has_gpu", lambda: True)
    monkeypatch.setattr(gpu, "num_gpus", lambda: 2)
    monkeypatch.setattr(gpu, "to_gpus", f.to_gpus)
    monkeypatch.setattr(gpu, "to_cpu", f.to_cpu)
    return f


def test_cpu_build_of_faiss():
    if gpu.faiss_has_gpu():
        pytest.skip("a GPU build of faiss is installed")
    assert gpu.resolve("auto") == "cpu"
    assert not inria.create("index", "faiss", factory="Flat", device="auto", dim=8).on_gpu
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="Flat", device="cuda", dim=8)
    assert "faiss-cpu is installed" in str(e.value) and 'pip install "faiss-gpu' in str(e.value)
    assert "pip uninstall -y faiss-cpu &&" in str(e.value)


def test_ivf_moves_to_all_gpus_and_back_before_saving(tmp_path, data, fake):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="IVF16,Flat", device="cuda", multi_gpu="shard", dim=32,
                      gpu_float16=True, search_params={"nprobe": 4})
    assert ix.on_gpu and fake.to_gpu_calls == [("IndexIVFFlat", "shard", True)]
    ix.train(xb)
    ix.add(xb)
    D, I = ix.search(xq, 5)
    d = ix.save(tmp_path / "m")
    assert fake.to_cpu_calls == 1  # written from a CPU copy
    cpu = FaissIndex.load(d, device="cpu")
    assert not cpu.on_gpu
    np.testing.assert_array_equal(cpu.search(xq, 5)[1], I)
    again = FaissIndex.load(d)  # the card's device (cuda) applies on load
    assert again.on_gpu and len(fake.to_gpu_calls) == 2


def test_hnsw_stays_on_cpu_with_one_warning(data, fake):
    xb, xq = data
    with pytest.warns(UserWarning, match="staying on the CPU: HNSW is CPU-only") as rec:
        ix = inria.create("index", "faiss", factory="HNSW16", device="auto")
        ix.add(xb)
        ix.search(xq, 3)
        ix.search(xq, 3)
    assert len(rec) == 1 and not ix.on_gpu and fake.to_gpu_calls == []


def test_ivf_with_hnsw_quantizer_and_big_nprobe_stay_on_cpu(fake):
    with pytest.warns(UserWarning, match="HNSW"):
        assert not inria.create("index", "faiss", factory="IVF64_HNSW8,Flat", device="cuda", dim=8).on_gpu
    with pytest.warns(UserWarning, match="nprobe=4096 is above the GPU limit of 2048"):
        ix = inria.create("index", "faiss", factory="IVF8192,Flat", device="cuda", dim=8,
                          search_params={"nprobe": 4096})
    assert not ix.on_gpu and fake.to_gpu_calls == []


def test_faiss_refusing_the_gpu_clone_keeps_the_cpu_index(fake, monkeypatch):
    def refuse(index, multi_gpu, float16):
        raise RuntimeError("Error in x at GpuCloner.cpp:99: This index type is not implemented on GPU.")

    monkeypatch.setattr(gpu, "to_gpus", refuse)
    with pytest.warns(UserWarning, match="not implemented on GPU"):
        ix = inria.create("index", "faiss", factory="PQ8np", device="cuda", dim=32)
    assert not ix.on_gpu


def test_k_above_gpu_limit_searches_on_cpu_once(data, fake):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="Flat", device="cuda")
    ix.add(xb)
    assert ix.on_gpu
    with pytest.warns(UserWarning, match="k=2049 is above the GPU limit") as rec:
        D, I = ix.search(xq[:2], 2049)
        ix.search(xq[:2], 2100)
    assert sum("GPU limit" in str(w.message) for w in rec) == 1
    assert fake.to_cpu_calls == 1 and I.shape == (2, 2049) and (I >= 0).all()
    ix.add(xb[:10])  # a change drops the CPU copy
    ix.search(xq[:2], 2049)
    assert fake.to_cpu_calls == 2


def test_remove_on_gpu_goes_through_the_cpu(data, fake):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="IVF16,Flat", device="cuda")
    ix.train(xb)
    ix.add(xb)
    assert ix.remove_ids(np.arange(10)) == 10 and ix.ntotal == len(xb) - 10
    assert len(fake.to_gpu_calls) == 2  # back onto the GPUs after removing
