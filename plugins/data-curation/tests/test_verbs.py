import numpy as np

from inria.context import StepContext
from inria_data_curation import HierarchicalKMeans
from inria_data_curation.evaluation import long_tailed_mixture


def test_fit_then_sample_verbs(tmp_path):
    x, _ = long_tailed_mixture(n_concepts=40, ratio=20, smallest=3, dim=8, seed=1)
    fit_ctx = StepContext.standalone(tmp_path / "fit")
    model = HierarchicalKMeans(n_clusters=[60, 12], n_resampling_steps=[2])
    out = model.fit_step(fit_ctx, vectors=x)
    assert (out["model"] / "card.yaml").is_file() and out["metrics"]["level1_clusters"] == 60
    # the runner builds the sampling step's implementation from the model directory
    sample_ctx = StepContext.standalone(tmp_path / "sample")
    loaded = HierarchicalKMeans.load(out["model"])
    res = loaded.sample_step(sample_ctx, model=out["model"], n=50)
    idx = res["indices"]
    assert idx.dtype == np.int64 and len(np.unique(idx)) == 50 and res["metrics"]["selected"] == 50
    np.testing.assert_array_equal(np.load(tmp_path / "sample" / "selected_indices.npy"), idx)
    imgs = np.arange(len(x))[:, None, None, None].astype(np.float32).repeat(3, 1)
    res = loaded.sample_step(sample_ctx, model=out["model"], images=imgs, n=50)
    np.testing.assert_array_equal(res["images"][:, 0, 0, 0].astype(np.int64), idx)


def test_evaluate_verb_reports_every_sampler(tmp_path):
    x, y = long_tailed_mixture(n_concepts=50, ratio=50, smallest=2, dim=8, seed=2)
    ctx = StepContext.standalone(tmp_path)
    model = HierarchicalKMeans(n_clusters=[120, 40], n_resampling_steps=[2])
    m = model.evaluate_step(ctx, vectors=x, labels=y, n=150, toy=False)["metrics"]
    for s in ("random", "flat_kmeans", "hierarchical", "hierarchical_random_pick", "oracle"):
        for k in ("entropy", "kl_to_uniform", "coverage", "max_share"):
            assert np.isfinite(m[f"{s}/{k}"])
        assert abs(m[f"{s}/entropy"] + m[f"{s}/kl_to_uniform"] - np.log(50)) < 1e-9
    assert m["hierarchical/entropy"] > m["random/entropy"]
    # without labels the concepts are the clusters of a plain k-means
    m2 = model.evaluate_step(ctx, vectors=x, n=150, concepts=20, toy=False)["metrics"]
    assert m2["hierarchical/coverage"] > 0.5
