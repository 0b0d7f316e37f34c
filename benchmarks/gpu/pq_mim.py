"""PQ-MIM on CUDA: autoencoder and MIM-transformer throughput, and whether GPU float64 logits give the CPU's tables.

Run by benchmarks/gpu/all.sh (PYTHONPATH = core + plugins/*/src). The GPU box
has no `constriction`, so no bitstream is written here: what is measured is
the part a GPU would take (convolutions, transformer passes) and the
question that decides whether a GPU may decode a CPU-encoded stream: are the
integer probability tables built from CUDA float64 logits identical to the
CPU ones? (entropy_coding.integer_frequencies needs numpy only.)
"""
import sys
import time

import torch


def main() -> int:
    gpu = sys.argv[1] if len(sys.argv) > 1 else "cuda"  # `cpu`: a dry run of this script where there is no GPU
    if gpu == "cuda" and not torch.cuda.is_available():
        print("pq_mim: skipped, no CUDA device")
        return 0
    try:
        import inria
        from inria_pq_mim.codec import PQMIM
        from inria_pq_mim.entropy_coding import integer_frequencies
        from inria_pq_mim.entropy_model import coding_order, group_bounds
        from inria_pq_mim.mim import mim_transformer
    except ImportError as e:
        print(f"pq_mim: skipped, cannot import the plugin ({e})")
        return 0
    try:
        codec = PQMIM(checkpoint="default")
        which = "default model"
    except inria.InriaError:
        codec = PQMIM(checkpoint="")
        which = "random weights (default model not built)"
    dev = torch.device(gpu)
    sync = torch.cuda.synchronize if gpu == "cuda" else (lambda: None)
    ae, mim = codec.autoencoder.to(dev).eval(), codec.mim
    print(f"pq_mim on {torch.cuda.get_device_name(0) if gpu == 'cuda' else 'cpu (dry run)'}, {which}")

    # autoencoder throughput, fp32, 4 x 512x512
    side = 512 if gpu == "cuda" else 128
    x = torch.rand(4, 3, side, side, device=dev)
    with torch.no_grad():
        for _ in range(2):
            idx = ae.encode(x)
            ae.decode(idx)
        sync()
        t0 = time.perf_counter()
        for _ in range(5):
            idx = ae.encode(x)
        sync()
        t1 = time.perf_counter()
        for _ in range(5):
            ae.decode(idx)
        sync()
        t2 = time.perf_counter()
    mp = 5 * 4 * side * side / 1e6
    print(f"autoencoder: encode {mp / (t1 - t0):.1f} MP/s, decode {mp / (t2 - t1):.1f} MP/s (fp32, batch 4 x {side}^2)")

    # transformer: one coding step (half the groups known) on 256 tiles, e.g. a 2048x2048 image at ds 16, tile 8
    t = mim.tile
    m, k = mim.m, mim.k
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, k, (256, m, t, t), generator=g)
    bounds = group_bounds(t * t, codec.config.coding_groups, codec.config.group_schedule)
    order = torch.from_numpy(coding_order(t, t))
    vis = torch.zeros(256, t * t, dtype=torch.bool)
    vis[:, order[:bounds[codec.config.coding_groups // 2]]] = True
    vis = vis.view(256, t, t)
    rates = {}
    logits = {}
    for name, device, dtype in (("cpu float64", "cpu", torch.float64), ("cuda float64", gpu, torch.float64),
                                ("cuda float32", gpu, torch.float32)):
        net = mim_transformer(codec.config)
        net.load_state_dict(mim.state_dict())
        net = net.to(device=device, dtype=dtype).eval()
        args = (tokens.to(device), vis.to(device), m, ~vis.flatten(1).to(device))  # logits of the hidden positions
        with torch.no_grad():
            net(*args)
            sync()
            reps = 1 if device == "cpu" else 5
            t0 = time.perf_counter()
            for _ in range(reps):
                out = net(*args)
            sync()
        rates[name] = 256 * reps / (time.perf_counter() - t0)
        logits[name] = out.double().cpu().numpy()
        print(f"MIM transformer {name}: {rates[name]:.0f} tile-passes/s")
    ref = integer_frequencies(logits["cpu float64"].reshape(-1, k), codec.config.logit_grid)
    for name in ("cuda float64", "cuda float32"):
        got = integer_frequencies(logits[name].reshape(-1, k), codec.config.logit_grid)
        same = (got == ref).all(axis=1).mean()
        print(f"integer tables from {name} equal to CPU float64 ones: {same:.6%} of {len(ref)} rows")
    speedup = rates["cuda float64"] / rates["cpu float64"]
    print(f"pq_mim transformer float64 CUDA/CPU speed-up {speedup:.1f}x (decode on GPU is safe only if the "
          f"table match above is 100%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
