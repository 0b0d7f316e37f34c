"""One rank of a gloo run (the test starts one process per rank, as torchrun would).

usage: RANK=r WORLD_SIZE=w MASTER_ADDR=127.0.0.1 MASTER_PORT=p python dist_worker.py DATA.npy OUT_DIR CONFIGS_JSON
CONFIGS_JSON is a {name: config} mapping; rank 0 saves one model directory per name under OUT_DIR.
"""
import json
import os
import sys


def main(data, out, configs):
    import numpy as np
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    import faiss

    faiss.omp_set_num_threads(1)
    dist.init_process_group("gloo")  # rank, world size and address from the environment
    from inria_data_curation import HierarchicalKMeans

    x = np.load(data, mmap_mode="r")  # every rank maps the file; each clusters its own rows
    for name, cfg in configs.items():
        model = HierarchicalKMeans(**cfg)
        model.fit(x)
        if dist.get_rank() == 0:
            path = model.save(os.path.join(out, name))
            with open(os.path.join(path, "world.json"), "w") as f:
                json.dump({"world_size": model.fit_stats["world_size"]}, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
    sys.stdout.flush()
    os._exit(0)  # skip torch's slow interpreter teardown: the results are on disk
