"""The shipped models' training curve: bit accuracy and PSNR against steps, per curriculum stage.

    .venv/bin/python benchmarks/stable_signature_training_curve.py [--out plugins/stable-signature/docs/training_curve.png]

Reads ``training_log.jsonl`` that ``python -m inria_stable_signature.train_default`` writes beside the
stable_signature card (the HiDDeN stage's rows, labelled by the attacks on at that step, then the decoder
tuning's), draws one panel per stage kind (matplotlib, the ``bench`` extra) and prints the last bit accuracy
of each stage. Last line: the final HiDDeN training bit accuracy (a training-stream figure, random messages;
the held-out figures are in the cards and benchmarks/stable_signature_robustness.py).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    import inria_stable_signature

    models = Path(inria_stable_signature.__file__).parent / "models"
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=str(models / "stable_signature" / "training_log.jsonl"))
    ap.add_argument("--out", default=str(Path(__file__).parents[1] / "plugins/stable-signature/docs/training_curve.png"))
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.log).read_text().splitlines() if line.strip()]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex="col")
    for col, kind in enumerate(("hidden", "tuning")):
        part = [r for r in rows if r["stage"].startswith(kind)]
        stages = list(dict.fromkeys(r["stage"] for r in part))
        for st in stages:
            pts = [r for r in part if r["stage"] == st]
            axes[0, col].plot([r["step"] for r in pts], [r["bit_acc"] for r in pts], marker=".", label=st)
            axes[1, col].plot([r["step"] for r in pts], [r["psnr"] for r in pts], marker=".", label=st)
            print(f"{st:40s} steps {pts[0]['step']:6d}-{pts[-1]['step']:6d}  bit acc {pts[-1]['bit_acc']:.3f}  "
                  f"PSNR {pts[-1]['psnr']:.1f} dB")
        axes[0, col].set_title("HiDDeN pre-training (random messages)" if kind == "hidden"
                               else "decoder tuning (the fixed key; PSNR vs D(z))")
        axes[0, col].set_ylabel("bit accuracy (training batches)")
        axes[1, col].set_ylabel("PSNR (dB)")
        axes[1, col].set_xlabel("step")
        axes[0, col].grid(alpha=0.3)
        axes[1, col].grid(alpha=0.3)
        axes[0, col].legend(fontsize=7)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    last = [r for r in rows if r["stage"].startswith("hidden")][-1]
    print(f"wrote {args.out}")
    print(f"final HiDDeN training bit accuracy {last['bit_acc']:.3f} at step {last['step']} (report; held-out "
          f"figures in the cards)")


if __name__ == "__main__":
    main()
