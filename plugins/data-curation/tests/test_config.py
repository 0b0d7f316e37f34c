import pytest

import inria
from inria.errors import InriaError


def make(**kw):
    return inria.create("curator", "hierarchical_kmeans", **kw)


def test_level_list_that_does_not_decrease_is_one_line_error():
    with pytest.raises(InriaError, match="does not decrease") as e:
        make(n_clusters=[100, 100])
    assert "\n" not in str(e.value) and "n_clusters" in str(e.value)
    with pytest.raises(InriaError, match="level 3 has 50"):
        make(n_clusters=[100, 40, 50])


def test_split_counts_in_the_first_level():
    make(n_clusters=[10, 50], n_split=10, n_resampling_steps=[0, 10])  # 10 x 10 = 100 > 50
    with pytest.raises(InriaError, match="does not decrease"):
        make(n_clusters=[10, 50], n_split=2, n_resampling_steps=[0, 10])


def test_split_and_level1_resampling_cannot_be_combined():
    with pytest.raises(InriaError, match="n_split"):
        make(n_clusters=[10, 5], n_split=4)


def test_per_level_lists_and_values():
    with pytest.raises(InriaError, match="one per level"):
        make(n_clusters=[10, 5], n_iter=[1, 2, 3])
    with pytest.raises(InriaError, match="'x' is not accepted"):
        make(n_clusters=[10, 5], strategy=["c", "x"])
    with pytest.raises(InriaError, match="accepted: c, r"):
        make(n_clusters=[10, 5], sampling_strategy="random")
    with pytest.raises(InriaError, match="device"):
        make(device="tpu")
    cfg = make(n_clusters=[10, 5], n_iter=[7]).config
    assert cfg.per_level("n_iter") == [7, 7]


def test_auto_backend_on_a_cpu_machine_is_faiss_and_explicit_torch_works():
    from inria_data_curation.curator import make_backend

    assert make_backend("auto", "cpu").name == "faiss"
    assert make_backend("torch", "cpu").name == "torch"
    with pytest.raises(InriaError, match="faiss-gpu|no CUDA"):
        make_backend("faiss", "cuda")
