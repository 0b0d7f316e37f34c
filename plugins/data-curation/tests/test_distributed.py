"""torch.distributed (gloo, CPU): 2 processes, each clustering half of the rows of a memory-mapped
.npy, give the same clusters as 1 process with the same seed."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inria_data_curation import HierarchicalKMeans
from inria_data_curation.evaluation import long_tailed_mixture

WORKER = Path(__file__).with_name("dist_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
CONFIGS = {
    "resampling": dict(n_clusters=[48, 10], n_resampling_steps=[2], strategy=["c"], seed=7),
    "random_resampling_and_split": dict(n_clusters=[16, 20], n_split=3, n_resampling_steps=[0, 2],
                                        strategy=["r"], seed=3),
}


def test_two_processes_give_the_same_clusters_as_one(tmp_path):
    pytest.importorskip("torch.distributed")
    x, _ = long_tailed_mixture(n_concepts=30, ratio=30, smallest=20, dim=8, seed=1)
    data = tmp_path / "x.npy"
    np.save(data, x)
    out = tmp_path / "two"
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(os.environ, INRIA_PROGRESS="0", OMP_NUM_THREADS="1", RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, str(WORKER), str(data), str(out), json.dumps(CONFIGS)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    for name, config in CONFIGS.items():
        assert json.loads((out / name / "world.json").read_text())["world_size"] == 2
        two = HierarchicalKMeans.load(out / name)
        one = HierarchicalKMeans(**config)
        one.fit(np.load(data, mmap_mode="r"))
        assert one.fit_stats["world_size"] == 1
        for lvl, (a, b) in enumerate(zip(one.levels, two.levels), start=1):
            assert a.k == b.k, f"{name} level {lvl}"
            np.testing.assert_array_equal(a.assignments, b.assignments, err_msg=f"{name} level {lvl}")
            np.testing.assert_allclose(a.centroids, b.centroids, rtol=1e-5, atol=1e-5, err_msg=f"{name} level {lvl}")
        np.testing.assert_array_equal(one.sample(300), two.sample(300))
