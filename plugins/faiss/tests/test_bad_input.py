"""Each bad input gives one line naming what is wrong and what is accepted."""
import warnings

import numpy as np
import pytest

import inria
from inria.errors import InriaError
from inria_faiss import FaissIndex


def one_line(excinfo, *words):
    text = str(excinfo.value)
    assert "\n" not in text and "Error in" not in text and ".cpp" not in text, text
    for w in words:
        assert w in text, (w, text)


def flat(xb):
    ix = inria.create("index", "faiss", factory="Flat")
    ix.add(xb)
    return ix


def test_dimension_mismatch_on_add_and_search(data):
    xb, xq = data
    ix = flat(xb)
    with pytest.raises(InriaError) as e:
        ix.add(np.zeros((3, 31), np.float32))
    one_line(e, "vectors", "dimension 31", "dimension 32")
    with pytest.raises(InriaError) as e:
        ix.search(np.zeros((3, 64), np.float32), 5)
    one_line(e, "queries", "dimension 64", "dimension 32")
    with pytest.raises(InriaError) as e:
        ix.search(np.zeros((2, 3, 32), np.float32), 5)
    one_line(e, "shape (N, D)", "(2, 3, 32)")
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="Flat", dim=16).add(xb)
    one_line(e, "dimension 32", "dimension 16")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_rows_are_named(data, bad):
    xb, xq = data
    x = xb[:100].copy()
    x[37, 5] = bad
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="Flat").add(x)
    one_line(e, "row 37", "NaN or inf")
    ix = flat(xb)
    q = xq[:5].copy()
    q[2, 0] = bad
    with pytest.raises(InriaError) as e:
        ix.search(q, 3)
    one_line(e, "queries", "row 2")
    ivf = inria.create("index", "faiss", factory="IVF8,Flat")
    with pytest.raises(InriaError) as e:
        ivf.train(x)
    one_line(e, "train", "row 37")


def test_nan_in_a_later_batch_names_the_global_row(data):
    xb, _ = data
    x = xb.copy()
    x[2500, 0] = np.nan
    ix = inria.create("index", "faiss", factory="Flat", add_batch_size=1000)
    with pytest.raises(InriaError) as e:
        ix.add(x)
    one_line(e, "row 2500")


def test_float64_and_int_are_converted_and_said_once(data):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="Flat")
    with pytest.warns(UserWarning, match="converting float64") as rec:
        ix.add(xb[:100].astype(np.float64))
        ix.add(xb[100:200].astype(np.float64))
        D, I = ix.search(xq[:3].astype(np.float64), 2)
    assert sum("float64" in str(w.message) for w in rec) == 1
    with pytest.warns(UserWarning, match="converting int64"):
        ix.search(np.rint(xq[:3]).astype(np.int64), 2)
    ref = flat(xb[:200])
    np.testing.assert_array_equal(I, ref.search(xq[:3], 2)[1])
    with pytest.raises(InriaError) as e:
        ix.search(np.array([["a"] * 32]), 2)
    one_line(e, "dtype", "float32")


def test_k_must_be_a_positive_int(data):
    xb, xq = data
    ix = flat(xb)
    for k in (0, -3, 2.5, True):
        with pytest.raises(InriaError) as e:
            ix.search(xq, k)
        one_line(e, "k=")


def test_searching_untrained_or_empty_indexes(data):
    xb, xq = data
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="Flat").search(xq, 3)
    one_line(e, "empty", "nothing was added")
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="Flat", dim=32).search(xq, 3)
    one_line(e, "empty", "ntotal=0")
    ivf = inria.create("index", "faiss", factory="IVF16,PQ8", dim=32)
    with pytest.raises(InriaError) as e:
        ivf.search(xq, 3)
    one_line(e, "not trained", "IVF16,PQ8", "train()")
    with pytest.raises(InriaError) as e:
        ivf.add(xb)
    one_line(e, "not trained")
    with pytest.raises(InriaError) as e:
        ivf.train(xb[:10])  # fewer points than centroids
    one_line(e, "cannot train", "10 vectors", "clusters")


@pytest.mark.parametrize("factory,words", [
    ("IVF1024,PQ16,garbage", ["could not parse", "IVF1024,PQ16,garbage"]),
    ("IVF1024,PQ", ["could not parse code description PQ"]),
    ("Flatt", ["could not parse index string Flatt"]),
    ("", ["empty factory string"]),
])
def test_invalid_factory_strings(factory, words):
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory=factory)
    one_line(e, "factory", *words)


def test_factory_that_does_not_fit_the_dimension(data):
    xb, _ = data
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="IVF16,PQ7", dim=32)
    one_line(e, "PQ7", "multiple of the number of subquantizers")
    ix = inria.create("index", "faiss", factory="IVF16,PQ7")  # checked when the dimension is known
    with pytest.raises(InriaError) as e:
        ix.train(xb)
    one_line(e, "PQ7", "dimension 32")


def test_config_errors():
    for kw, word in [({"metric": "cosinus"}, "cosine"), ({"device": "tpu"}, "device"),
                     ({"train_size": 0}, "train_size"), ({"nprobe": 4}, "search_params"),
                     ({"search_params": {"nprobe": "many"}}, "nprobe")]:
        with pytest.raises(InriaError) as e:
            inria.create("index", "faiss", **kw)
        one_line(e, word)
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="HNSW32", ondisk=True, dim=8)
    one_line(e, "ondisk", "IVF", "IndexHNSWFlat")
    with pytest.raises(InriaError) as e:
        inria.create("index", "faiss", factory="Flat", search_params={"nprobe": 4}, dim=8)
    one_line(e, "nprobe=4", "Flat")


def save(tmp_path, xb, factory="Flat"):
    ix = inria.create("index", "faiss", factory=factory)
    ix.train(xb)
    ix.add(xb)
    return ix.save(tmp_path / "model")


def test_truncated_index_file(tmp_path, data):
    xb, _ = data
    d = save(tmp_path, xb)
    f = d / "index.faiss"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(InriaError) as e:
        FaissIndex.load(d)
    one_line(e, "truncated", "index.faiss")
    # a card without the file's size and checksum: Faiss's own read error, in one line
    import yaml

    card = yaml.safe_load((d / "card.yaml").read_text())
    del card["extra"]["index_sha256"], card["extra"]["index_bytes"]
    (d / "card.yaml").write_text(yaml.safe_dump(card))
    with pytest.raises(InriaError) as e:
        FaissIndex.load(d)
    one_line(e, "corrupt or unreadable faiss index")


def test_corrupt_index_file(tmp_path, data):
    xb, _ = data
    d = save(tmp_path, xb, "IVF16,Flat")
    f = d / "index.faiss"
    raw = bytearray(f.read_bytes())
    raw[:4] = b"XXXX"  # the fourcc of the index type
    f.write_bytes(bytes(raw))
    with pytest.raises(InriaError) as e:
        FaissIndex.load(d)
    one_line(e, "corrupt", "SHA-256")
    # without the card's checksum (a hand-made card), Faiss itself refuses it, in one line
    import yaml

    card = yaml.safe_load((d / "card.yaml").read_text())
    del card["extra"]["index_sha256"]
    (d / "card.yaml").write_text(yaml.safe_dump(card))
    with pytest.raises(InriaError) as e:
        FaissIndex.load(d)
    one_line(e, "corrupt or unreadable faiss index")


def test_missing_index_file_and_missing_card(tmp_path, data):
    xb, _ = data
    d = save(tmp_path, xb)
    (d / "index.faiss").unlink()
    with pytest.raises(InriaError) as e:
        FaissIndex.load(d)
    one_line(e, "index file not found")
    with pytest.raises(InriaError) as e:
        FaissIndex.load(tmp_path / "nowhere")
    one_line(e, "card.yaml")


def test_index_saved_by_a_newer_plugin(tmp_path, data):
    import yaml

    xb, _ = data
    d = save(tmp_path, xb)
    card = yaml.safe_load((d / "card.yaml").read_text())
    card["version"] = card["extra"]["plugin_version"] = "0.9.0"
    (d / "card.yaml").write_text(yaml.safe_dump(card))
    with pytest.raises(InriaError) as e:
        FaissIndex.load(d)
    one_line(e, "0.9.0", "newer than the installed 0.1.0", "pip install -U inria-plugin-faiss")


def test_mmap_index_is_read_only(tmp_path, data):
    xb, xq = data
    d = save(tmp_path, xb)
    ix = FaissIndex.load(d, mmap=True)
    assert ix.search(xq, 2)[1].shape == (100, 2)
    for call in (lambda: ix.add(xb[:2]), lambda: ix.remove_ids([1]), lambda: ix.train(xb)):
        with pytest.raises(InriaError) as e:
            call()
        one_line(e, "mmap", "read-only")
