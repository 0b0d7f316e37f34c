"""The plugin from recipe lines: build -> tune -> evaluate -> search, through the core runner."""
import json

import numpy as np
import yaml

from inria.recipe import load
from inria.runner import execute

RECIPE = """name: faiss-e2e
seed: 0
device: cpu
steps:
  - id: base
    run: vectors
    with: {{path: {base}}}
  - id: queries
    run: vectors
    with: {{path: {queries}}}
  - id: index
    index: faiss
    do: build
    with: {{factory: "IVF32,Flat", metric: cosine, train_size: 2000}}
    inputs: {{vectors: base}}
  - id: tuned
    index: faiss
    do: tune
    with: {{target_recall: 0.9, k: 10}}
    inputs: {{model: index, queries: queries, vectors: base}}
  - id: eval
    index: faiss
    do: evaluate
    inputs: {{model: tuned, queries: queries, vectors: base}}
  - id: knn
    index: faiss
    do: search
    with: {{k: 5}}
    inputs: {{model: tuned, vectors: queries}}
"""


def test_recipe(tmp_path, data):
    xb, xq = data
    np.save(tmp_path / "base.npy", xb)
    np.save(tmp_path / "q.npy", xq)
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE.format(base=tmp_path / "base.npy", queries=tmp_path / "q.npy"))
    run = execute(load(str(path)), tmp_path / "runs")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["index"]["ntotal"] == 3000 and metrics["index"]["build_seconds"] > 0
    point = metrics["tuned"]["operating_point"]
    assert point["recall@10"] >= 0.9
    card = yaml.safe_load((run / "steps/tuned/model/card.yaml").read_text())
    assert card["extra"]["operating_point"]["param"] == point["param"]
    ev = metrics["eval"]
    assert ev["recall@10"] >= 0.85 and ev["search_params"] == point["param"]
    assert ev["build_seconds"] == metrics["index"]["build_seconds"]  # carried in the card
    assert len(ev["operating_points"]) >= 3
    I = np.load(run / "steps/knn/indices.npy")
    assert I.shape == (100, 5) and I.dtype == np.int64
