import inria
from inria.interfaces import Curator


def test_plugin_is_discovered():
    assert "hierarchical_kmeans" in inria.available("curator")


def test_create_builds_it_with_a_validated_config():
    model = inria.create("curator", "hierarchical_kmeans", n_clusters=[20, 5], seed=3)
    assert isinstance(model, Curator)
    assert model.config.n_clusters == [20, 5] and model.config.seed == 3
    assert {"fit", "sample", "evaluate"} <= set(type(model).verbs())
