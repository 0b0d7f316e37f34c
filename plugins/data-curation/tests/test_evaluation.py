"""The paper's claim on a long-tailed mixture with known concepts, and its 2-D toy."""
import numpy as np
import pytest

from inria_data_curation.config import HierarchicalKMeansConfig
from inria_data_curation.evaluation import compare_samplers, format_table, long_tailed_mixture
from inria_data_curation.toy import RING_SIZES, run_toy


def test_hierarchical_sampling_is_the_most_uniform_and_covers_every_concept(record_property):
    # 1000 Gaussian concepts, Zipf sizes from 2000 down to 2 points (largest = 1000 x smallest), 15k rows
    x, y = long_tailed_mixture(n_concepts=1000, ratio=1000, smallest=2, dim=32, seed=0)
    sizes = np.bincount(y)
    assert sizes.max() == 1000 * sizes.min() and len(sizes) == 1000
    # levels [3000, 1000]; the paper's 10 resampling steps cut to 2 to keep the test short
    cfg = HierarchicalKMeansConfig(n_clusters=[3000, 1000], n_iter=[20], n_resampling_steps=[2], seed=0)
    table = compare_samplers(x, y, 3000, cfg)
    print("\n" + format_table(table))
    for name, row in table.items():
        record_property(f"{name}_coverage", row["coverage"])
        record_property(f"{name}_entropy", row["entropy"])
    rnd, flat, hier = table["random"], table["flat_kmeans"], table["hierarchical"]
    assert hier["entropy"] > flat["entropy"] > rnd["entropy"]
    assert hier["kl_to_uniform"] < flat["kl_to_uniform"] < rnd["kl_to_uniform"]
    assert hier["max_share"] < flat["max_share"] < rnd["max_share"]
    assert hier["coverage"] == 1.0  # no concept dropped by the quota split
    assert table["hierarchical_random_pick"]["coverage"] <= hier["coverage"]
    assert hier["kl_to_uniform"] < 0.1 and hier["entropy"] <= table["oracle"]["entropy"] + 1e-9


def _check_toy(metrics, n):
    hier = np.array([metrics[f"hierarchical_ring{i}"] for i in range(5)])
    rand = np.array([metrics[f"random_ring{i}"] for i in range(5)])
    assert hier.sum() == rand.sum() == n
    # random sampling follows the densities: the 20000-point ring takes most of the selection ...
    assert rand[0] > 0.6 * n and rand[1] < 0.02 * n
    # ... hierarchical sampling spreads it: the 200-point ring gets ~1/10, the big ring far less than random
    assert hier[1] > 0.06 * n and hier[0] < 0.4 * n
    assert hier.max() / hier.min() < 4 < rand.max() / max(rand.min(), 1)


def test_toy_rings_picture_quick(tmp_path):
    # a fifth of the points and of the clusters, 2 resampling steps: same picture, seconds instead of a minute
    metrics = run_toy(tmp_path, steps=2, scale=0.2, n=200)
    assert (tmp_path / "toy.png").stat().st_size > 10_000
    _check_toy(metrics, 200)


@pytest.mark.slow
def test_toy_rings_as_in_the_paper(tmp_path):
    metrics = run_toy(tmp_path, steps=10)
    assert (tmp_path / "toy.png").is_file()
    _check_toy(metrics, 1000)
    assert sum(RING_SIZES) == 29700
