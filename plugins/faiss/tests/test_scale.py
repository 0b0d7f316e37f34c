"""Building from a memory-mapped file in batches, and IVF with on-disk inverted lists."""
import numpy as np
import pytest

import inria
from inria.context import StepContext
from inria_faiss import FaissIndex


def test_build_from_a_memory_mapped_npy_in_batches(tmp_path, data, monkeypatch):
    xb, xq = data
    np.save(tmp_path / "base.npy", xb.astype(np.float16))  # a smaller on-disk dtype, converted per batch
    ix = inria.create("index", "faiss", factory="IVF16,Flat", add_batch_size=700, train_size=1000,
                      search_params={"nprobe": 16})
    seen = []
    with pytest.warns(UserWarning, match="converting float16") as rec:
        ix.train(tmp_path / "base.npy")
        inner = ix.faiss_index
        monkeypatch.setattr(inner, "add", lambda x: (seen.append(len(x)), type(inner).add(inner, x))[1])
        ix.add(str(tmp_path / "base.npy"))
    assert len(rec) == 1  # said once per index
    assert seen == [700, 700, 700, 700, 200]  # never the whole file at once
    ref = inria.create("index", "faiss", factory="Flat")
    ref.add(xb.astype(np.float16).astype(np.float32))
    assert (ix.search(xq, 1)[1] == ref.search(xq, 1)[1]).mean() == 1.0


def test_training_sample_is_random_and_seeded(data):
    xb, _ = data
    cents = []
    for seed in (0, 0, 1):
        ix = inria.create("index", "faiss", factory="IVF8,Flat", train_size=500, seed=seed)
        ix.train(xb)
        cents.append(ix.faiss_index.quantizer.reconstruct_n(0, 8))
    np.testing.assert_array_equal(cents[0], cents[1])
    assert not np.array_equal(cents[0], cents[2])


def test_progress_bar_through_the_step_context(tmp_path, data):
    xb, _ = data
    calls = []

    class Ctx(StepContext):
        def progress(self, iterable, desc="", total=None, **kw):
            calls.append((desc, total))
            return iterable

    ctx = Ctx.standalone(tmp_path)
    ix = inria.create("index", "faiss", factory="Flat", add_batch_size=1000)
    ix.build_step(ctx, xb)
    assert ("add", 3) in calls


def test_ondisk_ivf_matches_in_memory_ivf(tmp_path, data):
    xb, xq = data
    kw = dict(factory="IVF16,Flat", search_params={"nprobe": 4}, seed=0)
    mem = inria.create("index", "faiss", **kw)
    mem.train(xb)
    mem.add(xb)
    ctx = StepContext.standalone(tmp_path / "step")
    disk = inria.create("index", "faiss", ondisk=True, add_batch_size=800, **kw)
    out = disk.build_step(ctx, xb)
    model = out["model"]
    assert sorted(p.name for p in model.iterdir()) == ["card.yaml", "index.faiss", "index.ivfdata"]
    # the index file holds no vectors: they are in the .ivfdata file
    assert (model / "index.faiss").stat().st_size < 0.2 * (model / "index.ivfdata").stat().st_size
    D, I = mem.search(xq, 10)
    for ix in (disk, FaissIndex.load(model)):
        D2, I2 = ix.search(xq, 10)
        np.testing.assert_array_equal(I, I2)
        np.testing.assert_allclose(D, D2, rtol=1e-5)
    # saved elsewhere: the lists are copied along, and the copy stands alone
    other = FaissIndex.load(model).save(tmp_path / "copy")
    np.testing.assert_array_equal(FaissIndex.load(other).search(xq, 10)[1], I)
    # adding later appends to the on-disk lists
    back = FaissIndex.load(other)
    back.add(xq)
    assert back.ntotal == len(xb) + len(xq)
    assert (back.search(xq, 1)[0][:, 0] < 1e-4).all()


def test_ondisk_truncated_lists_are_refused(tmp_path, data):
    xb, _ = data
    ix = inria.create("index", "faiss", factory="IVF16,Flat", ondisk=True)
    ix.train(xb)
    ix.add(xb)
    d = ix.save(tmp_path / "m")
    f = d / "index.ivfdata"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(inria.InriaError, match="truncated inverted-list file"):
        FaissIndex.load(d)
