"""Does the adversarial term move ms_illm's feature FD? Stage 2 from a No-GAN model at several adversarial weights.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ms_illm_adversarial_probe.py --weights 0,0.008,0.04 \
        [--rate low] [--steps 1800] [--tokenizer runs/ms_illm_default/ms_illm_low/checkpoints/tokenizer]

Each weight runs ``train_default``'s stage-2 recipe (``TOKENIZER``, ``STAGE2``, ``--steps`` of each) from the
shipped ``noganms_<rate>`` model, the encoder and entropy models frozen, so every run codes the same bytes; weight 0
is the control (the same generator fine-tuning with the MSE + SSIM distortion alone). ``--tokenizer`` reuses the
finished tokenizer checkpoint of an earlier run (train_default's run directory) instead of training one per weight.
Prints, per weight, the held-out bpp, PSNR and patch FD (``ms_illm_rd.points``: ``inria.eval.patch_fd`` on 64-px
patches, the ``--fd-backbone`` Backbone) beside noganms's; the last line is the spread of FD over the weights against the gap
to noganms.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from ms_illm_rd import points  # the same measurement as the RD benchmark; benchmarks/ is on sys.path here


def main(argv=None) -> int:
    import torch

    import inria
    from inria.context import StepContext
    from inria.eval import patch_fd
    from inria_ms_illm.codec import WEIGHTS
    from inria_ms_illm.data import TEST_PHOTOS, TRAIN_PHOTOS, photos
    from inria_ms_illm.train_default import LOW, MID, STAGE2, TOKENIZER

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="0,0.008,0.04", help="adversarial weights, comma-separated")
    ap.add_argument("--rate", choices=("low", "mid"), default="low")
    ap.add_argument("--steps", type=int, default=STAGE2["steps"], help="tokenizer and stage-2 steps")
    ap.add_argument("--tokenizer", default="", help="a finished tokenizer checkpoint directory to reuse")
    ap.add_argument("--out", default="runs/ms_illm_adversarial_probe")
    ap.add_argument("--fd-backbone", default="ssl_resnet_cpu")
    ap.add_argument("--fd-args", default='{"checkpoint": "default"}')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    weights = [float(w) for w in args.weights.split(",")]
    out = Path(args.out)
    test = photos(TEST_PHOTOS)
    backbone = inria.create("backbone", args.fd_backbone, **json.loads(args.fd_args))

    fd = lambda real, dec: patch_fd(real, dec, backbone, size=64)["fd"]  # noqa: E731  (ms_illm_rd's patches)

    base = WEIGHTS / f"noganms_{args.rate}"
    ref_fd = points(inria.create("codec", "noganms", checkpoint=args.rate), test, "noganms", args.rate, fd)["fd"]
    fds = []
    for w in weights:
        run = out / f"weight_{w:g}"
        if args.tokenizer:
            (run / "checkpoints").mkdir(parents=True, exist_ok=True)
            shutil.copytree(args.tokenizer, run / "checkpoints" / "tokenizer", dirs_exist_ok=True)
        torch.manual_seed(0)
        codec = inria.create("codec", "ms_illm", checkpoint=str(base), stages="stage2",
                             target_bpp={"low": LOW, "mid": MID}[args.rate], adversarial_weight=w,
                             tokenizer=dict(TOKENIZER, steps=args.steps), stage2=dict(STAGE2, steps=args.steps))
        t = time.time()
        codec.fit(photos(TRAIN_PHOTOS), ctx=StepContext.standalone(run, resume=bool(args.tokenizer)))
        minutes = (time.time() - t) / 60
        row = points(codec, test, f"ms_illm weight {w:g}", args.rate, fd)
        fds.append(row["fd"])
        print(f"adversarial weight {w:g}: PSNR {row['psnr']:.3f} dB, FD {row['fd']:.3f} (noganms {ref_fd:.3f}), "
              f"{minutes:.1f} min of training", flush=True)
    print(f"FD spread over adversarial weights {max(fds) - min(fds):.3f}, best gap to noganms "
          f"{min(fds) - ref_fd:+.3f} (target: ms_illm below noganms, gap < 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
