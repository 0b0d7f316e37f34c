"""Bad input: one line each, naming the field or value and what is accepted."""
import numpy as np
import pytest

from inria.errors import InriaError
from inria_data_curation import HierarchicalKMeans


def data(n=200, d=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text
    return text


def test_more_clusters_than_points_at_level_1():
    with pytest.raises(InriaError) as e:
        HierarchicalKMeans(n_clusters=[300, 10]).fit(data(200))
    assert "n_clusters[0]=300" in one_line(e) and "200 rows" in str(e.value)


def test_more_clusters_than_points_at_a_higher_level():
    # the split keeps only non-empty sub-clusters: 3 one-row clusters split into at most 2 give 3, not 6,
    # points to level 2, which asks for 5 clusters
    with pytest.raises(InriaError) as e:
        HierarchicalKMeans(n_clusters=[3, 5], n_split=2, n_resampling_steps=[0, 0]).fit(data(3))
    assert "level 2" in one_line(e) and "more clusters than its 3 points" in str(e.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_rows(bad):
    x = data()
    x[17, 2] = bad
    x[150, 0] = bad
    with pytest.raises(InriaError) as e:
        HierarchicalKMeans(n_clusters=[10, 2]).fit(x)
    assert "2 row(s) hold NaN or inf" in one_line(e) and "row 17" in str(e.value)


def test_all_identical_rows():
    x = np.ones((50, 3), dtype=np.float32)
    with pytest.raises(InriaError) as e:
        HierarchicalKMeans(n_clusters=[5, 2]).fit(x)
    assert "all 50 rows are identical" in one_line(e)


def test_duplicate_rows_error_by_default_and_allowed_on_request():
    x = data()
    x[120] = x[7]
    x[121] = x[7]
    with pytest.raises(InriaError) as e:
        HierarchicalKMeans(n_clusters=[10, 2]).fit(x)
    assert "2 duplicate row(s)" in one_line(e) and "rows 7 and 120" in str(e.value)
    assert "duplicates: allow" in str(e.value)
    m = HierarchicalKMeans(n_clusters=[10, 2], duplicates="allow", n_resampling_steps=[1])
    m.fit(x)
    assert m.levels[0].sizes.sum() == 200


def test_allowed_duplicates_still_need_enough_distinct_rows():
    x = np.repeat(data(6), 10, axis=0)
    with pytest.raises(InriaError) as e:
        HierarchicalKMeans(n_clusters=[8, 2], duplicates="allow").fit(x)
    assert "6 distinct rows" in one_line(e)


def test_n_larger_than_the_data_and_other_bad_n():
    m = HierarchicalKMeans(n_clusters=[10, 3], n_resampling_steps=[1])
    with pytest.raises(InriaError, match="not fitted"):
        m.sample(5)
    m.fit(data())
    for n in (201, 0, -3):
        with pytest.raises(InriaError) as e:
            m.sample(n)
        assert "outside [1, 200]" in one_line(e)
    with pytest.raises(InriaError, match="not an int"):
        m.sample(2.5)
    assert len(m.sample(200)) == 200


def test_not_a_matrix():
    m = HierarchicalKMeans(n_clusters=[3, 2])
    with pytest.raises(InriaError, match="2-D"):
        m.fit(np.zeros(10, dtype=np.float32))
    with pytest.raises(InriaError, match="empty"):
        m.fit(np.zeros((0, 4), dtype=np.float32))
    with pytest.raises(InriaError, match="numbers"):
        m.fit(np.array([["a", "b"]] * 5))
