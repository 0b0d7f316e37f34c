import numpy as np
import pytest
import yaml

from inria.errors import InriaError
from inria_data_curation import HierarchicalKMeans
from inria_data_curation.tree import FILES


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    x = np.random.default_rng(0).standard_normal((600, 6)).astype(np.float32)
    m = HierarchicalKMeans(n_clusters=[30, 8, 3], n_resampling_steps=[2], seed=2)
    m.fit(x)
    sel = m.sample(100)
    path = m.save(tmp_path_factory.mktemp("model") / "m")
    return m, sel, path


def test_saved_in_open_formats_without_pickles(fitted):
    m, sel, path = fitted
    card = yaml.safe_load((path / "card.yaml").read_text())
    assert card["implementation"] == "hierarchical_kmeans" and card["config"]["n_clusters"] == [30, 8, 3]
    assert card["extra"]["n_points"] == 600 and card["extra"]["clusters"] == [30, 8, 3]
    for lvl, n_below in ((1, 600), (2, 30), (3, 8)):
        arrays = {f: np.load(path / f"level{lvl}" / f, allow_pickle=False) for f in FILES}
        assert all(a.dtype != object for a in arrays.values())
        k = arrays["centroids.npy"].shape[0]
        idx, off = arrays["sorted_clusters_indices.npy"], arrays["sorted_clusters_offsets.npy"]
        assert len(arrays["assignments.npy"]) == n_below and len(off) == k + 1 and off[-1] == n_below
        assert sorted(idx.tolist()) == list(range(n_below))
    np.testing.assert_array_equal(np.load(path / "selected_indices.npy", allow_pickle=False), sel)


def test_sorted_clusters_are_closest_first(fitted):
    m, _, path = fitted
    x = np.random.default_rng(0).standard_normal((600, 6)).astype(np.float32)
    lev = m.levels[0]
    for j in range(lev.k):
        members = lev.members(j)
        d = ((x[members] - lev.centroids[j]) ** 2).sum(1)
        assert np.all(np.diff(d) >= -1e-5)


def test_load_gives_the_same_tree_and_the_same_samples(fitted):
    m, sel, path = fitted
    back = HierarchicalKMeans.load(path)
    assert back.n_points == 600 and back.dim == 6 and len(back.levels) == 3
    for a, b in zip(m.levels, back.levels):
        np.testing.assert_array_equal(a.centroids, b.centroids)
        np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(back.selected, sel)
    np.testing.assert_array_equal(back.sample(100), sel)
    np.testing.assert_array_equal(back.sample(37), m.sample(37))


def _copy(path, tmp_path):
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(path, dst)
    return dst


def test_truncated_array_is_one_line_error(fitted, tmp_path):
    _, _, path = fitted
    dst = _copy(path, tmp_path)
    f = dst / "level2" / "assignments.npy"
    f.write_bytes(f.read_bytes()[:-20])
    with pytest.raises(InriaError, match="corrupt or truncated") as e:
        HierarchicalKMeans.load(dst)
    assert "level2" in str(e.value) and "\n" not in str(e.value)


def test_pickled_object_array_is_refused(fitted, tmp_path):
    _, _, path = fitted
    dst = _copy(path, tmp_path)
    clusters = np.empty(3, dtype=object)
    clusters[:] = [np.arange(2), np.arange(3), np.arange(1)]
    np.save(dst / "level3" / "sorted_clusters_indices.npy", clusters, allow_pickle=True)
    with pytest.raises(InriaError, match="level3"):
        HierarchicalKMeans.load(dst)


def test_inconsistent_offsets_are_refused(fitted, tmp_path):
    _, _, path = fitted
    dst = _copy(path, tmp_path)
    off = np.load(dst / "level1" / "sorted_clusters_offsets.npy")
    off[3] += 1
    np.save(dst / "level1" / "sorted_clusters_offsets.npy", off)
    with pytest.raises(InriaError, match="disagree|not a valid offset|not assigned"):
        HierarchicalKMeans.load(dst)


def test_missing_level_and_missing_card(fitted, tmp_path):
    _, _, path = fitted
    dst = _copy(path, tmp_path)
    (dst / "level3" / "centroids.npy").unlink()
    with pytest.raises(InriaError, match="missing file"):
        HierarchicalKMeans.load(dst)
    with pytest.raises(InriaError, match="card.yaml"):
        HierarchicalKMeans.load(tmp_path / "nowhere")
