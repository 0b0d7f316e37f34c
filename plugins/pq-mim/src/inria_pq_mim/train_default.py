"""Train the small default model shipped in the plugin: ``python -m inria_pq_mim.train_default``.

Data: the named ``train`` split of :mod:`.data` (scikit-image's bundled
photographs listed in ``TRAIN_PHOTOS`` plus 24 procedural images); the
``test`` split (``TEST_PHOTOS``) is never seen and is what the benchmarks
report on. One CPU thread, about 15 minutes on a quiet machine; the
result (card.yaml + weights.safetensors, < 20 MB) goes to
``src/inria_pq_mim/default/`` unless ``--out`` says otherwise.

The shipped default is that run followed by ``--refine`` (twice: 1500 and
2500 stage-3 steps) and ``--mim --steps-scale 7.5`` (3000 more stage-2
steps); each retrains one part of the model at ``--out`` and the card keeps
the earlier cards (the plugin README gives the figures after each).

Scale-out: ``torchrun --nproc-per-node N -m inria_pq_mim.train_default
--device cuda`` trains both stages data-parallel through the core engine
(batch sizes are per process); rank 0 alone writes and measures.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

#: the default model's settings; every other field keeps the PQMIMConfig default
RECIPE = {
    "checkpoint": "",
    "channels": [16, 32, 64, 128],
    "stage1": {"steps": 900, "batch_size": 8, "lr": 2e-3, "weight_decay": 0.0, "warmup_steps": 50, "min_lr": 1e-5,
               "clip_grad": 1.0, "checkpoint_every": 200,
               "objective": "pq_mim_autoencoder", "log_every": 50, "seed": 0},
    # stage 2 sees few sub-quantizers more often than stage 1 (full rate 20 %, else 1..16 uniform): the
    # low rates and the hybrid mode depend on predicting sub-quantizer 0 from sparse context
    # stage 3: the decoder alone on the frozen codes (rates and the MIM model unchanged)
    "refine_decoder": True,
    "stage3": {"steps": 1500, "batch_size": 8, "lr": 5e-4, "weight_decay": 0.0, "warmup_steps": 50, "min_lr": 1e-5,
               "clip_grad": 1.0, "checkpoint_every": 250, "objective": "pq_mim_decoder", "log_every": 50, "seed": 0},
    "stage2": {"steps": 400, "batch_size": 32, "lr": 1e-3, "weight_decay": 0.01, "warmup_steps": 30,
               "min_lr": 1e-5, "objective": "pq_mim_mim", "objective_args": {"full_rate_prob": 0.2},
               "checkpoint_every": 200, "log_every": 50, "seed": 0},
}


def main(argv: list[str] | None = None) -> int:
    import torch

    import inria
    from inria.context import StepContext

    from . import data
    from .codec import DEFAULT_DIR

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_DIR), help="model directory to write (default: the plugin's)")
    ap.add_argument("--run-dir", default="runs/pq_mim_default", help="checkpoints and metrics.jsonl")
    ap.add_argument("--steps-scale", type=float, default=1.0, help="multiply both stages' steps (smoke runs)")
    ap.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoints")
    ap.add_argument("--refine", action="store_true",
                    help="stage 3 only, on the model already at --out (the shipped one by default): its decoder "
                         "on its frozen codes; rates and the MIM model stay")
    ap.add_argument("--mim", action="store_true",
                    help="stage 2 only, on the model already at --out: its MIM model trained on (from the weights it "
                         "has) for the recipe's stage-2 steps; reconstructions stay, the rates move")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (the recipe's numbers are for cpu)")
    args = ap.parse_args(argv)
    if args.refine and args.mim:
        ap.error("--refine and --mim each retrain one part of the model at --out: run them one after the other")
    from inria import distributed
    from inria.context import resolve_device

    distributed.init_from_env(device=resolve_device(args.device))  # torchrun: one group for both stages

    torch.set_num_threads(1)
    torch.manual_seed(0)
    recipe = json.loads(json.dumps(RECIPE))
    for stage in ("stage1", "stage2", "stage3"):
        recipe[stage]["steps"] = max(1, round(recipe[stage]["steps"] * args.steps_scale))
    t0 = time.time()
    train = data.split("train")
    ctx = StepContext.standalone(args.run_dir, device=args.device, resume=args.resume)
    if args.mim:
        from .training import train_mim

        codec, earlier = _retrain_one_stage(Path(args.out), "before_mim", stage2=recipe["stage2"])
        metrics = train_mim(codec, train, ctx, resolve_device(args.device))
        trained_by = "python -m inria_pq_mim.train_default --mim (stage 2 on the model at --out)"
    elif args.refine:
        from .training import refine_decoder

        codec, earlier = _retrain_one_stage(Path(args.out), "before_refine", refine_decoder=True,
                                            stage3=recipe["stage3"])
        codec.autoencoder.to(resolve_device(args.device))
        metrics = refine_decoder(codec, train, ctx)
        codec.autoencoder.cpu().eval()
        trained_by = "python -m inria_pq_mim.train_default --refine (stage 3 on the model at --out)"
    else:
        codec = inria.create("codec", "pq_mim", **recipe)
        metrics = codec.fit(train, ctx)
        earlier, trained_by = {}, "python -m inria_pq_mim.train_default"
    distributed.on_main(_write_and_measure, codec, metrics, Path(args.out), t0, distributed.world_size(),
                        trained_by, earlier)
    distributed.on_main(plot_curves, Path(args.run_dir))
    distributed.destroy()
    return 0


def _retrain_one_stage(directory: Path, history_key: str, **stage_fields):
    """The model at ``directory`` loaded for a run that retrains one stage (--refine, --mim), and its card's extra
    under ``history_key`` for the new card. The card's training fields are kept, ``stage_fields`` aside, so the new
    card still says how every part of the model was trained (the codec's own defaults would replace them)."""
    import inria
    from inria.modeldir import read_card

    card = read_card(directory)
    config = card.get("config") or {}
    recorded = {k: config[k] for k in ("stage1", "stage2", "stage3", "refine_decoder") if k in config}
    codec = inria.create("codec", "pq_mim", checkpoint=str(directory), **{**recorded, **stage_fields})
    earlier = {k: v for k, v in (card.get("extra") or {}).items() if k != history_key}
    return codec, {history_key: earlier}


def _write_and_measure(codec, metrics: dict, out: Path, t0: float, processes: int,
                       trained_by: str = "python -m inria_pq_mim.train_default", earlier: dict | None = None) -> None:
    """Rank 0: the model folder with its card, then the test split's rate and PSNR per sub-quantizer count.
    ``earlier``: ``{"before_refine" | "before_mim": the previous card's extra}``, kept in the new card."""
    from inria.eval.metrics import bpp, psnr

    from . import data

    codec.save(out, card_extra={
        **(earlier or {}),
        "trained_by": trained_by,
        "train_split": {"photos": data.TRAIN_PHOTOS, "procedural_images": 24},
        "test_split": {"photos": data.TEST_PHOTOS},
        "train_time_s": round(time.time() - t0, 1),
        "processes": processes,
        "final": {k: round(float(v), 4) for k, v in metrics.items() if k.endswith(("psnr", "bits_per_index"))},
    })
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"saved {out} ({size:.1f} MB) in {time.time() - t0:.0f} s")
    test = data.split("test")
    m_all = codec.config.num_subquantizers
    for m in sorted({v for v in (1, 2, 4, 8, 16) if v <= m_all} | {m_all}):
        variant = codec.with_overrides(active_subquantizers=m)
        streams = [variant.compress(im) for im in test]
        recon = [variant.decompress(s) for s in streams]
        rate = sum(bpp(s, im) for s, im in zip(streams, test)) / len(test)
        print(f"test split, {m:2d} sub-quantizers: {rate:.3f} bpp, PSNR {psnr(test, recon).mean():.2f} dB")


def plot_curves(run_dir: Path) -> Path | None:
    """The training curves of a run (stage 1 PSNR and perplexity, stage 2 bits per index) -> run_dir/curves.png."""
    log = Path(run_dir) / "metrics.jsonl"
    if not log.is_file():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    s1 = [r for r in rows if str(r.get("source", "")).endswith("stage1") and "psnr" in r]
    s2 = [r for r in rows if str(r.get("source", "")).endswith("stage2") and "bits_per_index" in r]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot([r["step"] for r in s1], [r["psnr"] for r in s1])
    axes[0].set_ylabel("train PSNR (dB, random active prefix)")
    axes[1].plot([r["step"] for r in s1], [r["perplexity"] for r in s1])
    axes[1].set_ylabel("codebook perplexity (mean over M)")
    axes[2].plot([r["step"] for r in s2], [r["bits_per_index"] for r in s2])
    axes[2].set_ylabel("stage 2 bits per masked index")
    for ax, title in zip(axes, ("stage 1", "stage 1", "stage 2")):
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(run_dir) / "curves.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"training curves in {out}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
