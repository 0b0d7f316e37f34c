"""The shipped models' training curve: bit accuracy and PSNR against steps, per curriculum stage.

    .venv/bin/python benchmarks/stable_signature_training_curve.py [--out plugins/stable-signature/docs/training_curve.png]

Reads ``training_log.jsonl`` that ``python -m inria_stable_signature.train_default`` writes beside the
stable_signature card (the HiDDeN stage's rows, labelled by the attacks on at that step, then the decoder
tuning's), draws it (``inria_stable_signature.curves``, the same figure train_default writes beside the card) and prints the last bit accuracy
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
    ap.add_argument("--out", default=str(models / "stable_signature" / "training_curve.png"))
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.log).read_text().splitlines() if line.strip()]
    from inria_stable_signature.curves import plot_training_log, stage_summary

    for st in stage_summary(rows):
        print(f"{st['stage']:40s} steps {st['first_step']:6d}-{st['last_step']:6d}  bit acc {st['bit_acc']:.3f}  "
              f"PSNR {st['psnr']:.1f} dB")
    plot_training_log(rows, args.out)
    last = [r for r in rows if r["stage"].startswith("hidden")][-1]
    print(f"wrote {args.out}")
    print(f"final HiDDeN training bit accuracy {last['bit_acc']:.3f} at step {last['step']} (report; held-out "
          f"figures in the cards)")


if __name__ == "__main__":
    main()
