"""Stable Signature on CUDA: embed/detect images/s at 512 px, and decoder-tuning steps/s, against the CPU.

Run by benchmarks/gpu/all.sh (PYTHONPATH = core + plugins/*/src). Uses the
shipped default models (no download); `python benchmarks/gpu/stable_signature.py cpu`
is a dry run of the script where there is no GPU.
"""
import sys
import time

import torch


def rate(fn, n: int, sync, repeats: int = 3) -> float:
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return n * repeats / (time.perf_counter() - t0)


def main() -> int:
    gpu = sys.argv[1] if len(sys.argv) > 1 else "cuda"
    if gpu == "cuda" and not torch.cuda.is_available():
        print("stable_signature: skipped, no CUDA device")
        return 0
    try:
        import inria
        from inria.context import StepContext
        from inria_stable_signature.data import held_out_crops
    except ImportError as e:
        print(f"stable_signature: skipped, cannot import the plugin ({e})")
        return 0
    sync = torch.cuda.synchronize if gpu == "cuda" else (lambda: None)
    side = 512 if gpu == "cuda" else 128
    n = 32 if gpu == "cuda" else 4
    x = held_out_crops(side, n, seed=1)
    print(f"stable_signature on {torch.cuda.get_device_name(0) if gpu == 'cuda' else 'cpu (dry run)'}, {n} x {side} px")
    for name in ("stable_signature", "hidden"):
        wm = inria.create("watermarker", name, batch_size=16, device=gpu)
        msgs = None if name == "stable_signature" else wm.random_messages(n, seed=0)
        marked, keys = wm.embed(x, msgs)
        e = rate(lambda: wm.embed(x, msgs), n, sync)
        d = rate(lambda: wm.detect(marked, keys), n, sync)
        acc = float(wm.detect(marked, keys).bit_accuracy.mean())
        print(f"{name:18s} embed {e:8.1f} img/s  detect {d:8.1f} img/s  bit accuracy {acc:.3f}")

    # decoder tuning through the core engine: steps/s at the paper's batch 4 x 256 px
    ss = inria.create("watermarker", "stable_signature", image_size=256 if gpu == "cuda" else 64,
                      train={"steps": 20, "batch_size": 4, "warmup_steps": 2, "log_every": 100})
    ctx = StepContext.standalone("/tmp/inria_gpu_ss", device=gpu)
    t0 = time.perf_counter()
    m = ss.fit(None, ctx=ctx)
    sync()
    print(f"decoder tuning: 20 steps of batch 4 in {time.perf_counter() - t0:.1f} s (incl. start-up), "
          f"last bit accuracy {m.get('bit_acc', float('nan')):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
