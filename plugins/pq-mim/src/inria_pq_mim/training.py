"""``fit``: the two stages of PQ-MIM, each one run of the core engine (:mod:`inria.train`).

1. The autoencoder (encoder, product quantizer, decoder) on random crops,
   objective ``pq_mim_autoencoder`` (config ``stage1``); fresh weights first
   get the PCA of random patches in their linear path (``pca_init``).
   With ``refine_decoder``, stage 3 follows: the decoder alone on the frozen
   encoder's codes (``pq_mim_decoder``, config ``stage3``).
2. The encoder frozen, every training image (and its mirror) is encoded once
   to its index grid; the MIM transformer trains on random ``mim_tile``-sided
   windows of those grids, objective ``pq_mim_mim`` (config ``stage2``).
   ``train_mim`` runs this stage alone on a trained model (``train_default
   --mim``), from the MIM weights it has.

Checkpoints go to ``ctx.checkpoint_dir / stage1`` and ``/ stage2``; with
``ctx.resume`` a finished stage is not run again and an interrupted one
continues. Coding runs on CPU afterwards (the modules are moved back).
"""
from __future__ import annotations

from pathlib import Path

import torch

from inria.errors import InriaError
from inria.train import Trainer

from .data import IndexCrops, RandomCrops


def _images(images) -> list[torch.Tensor]:
    from .codec import as_rgb

    if isinstance(images, torch.Tensor) and images.dim() == 3:
        images = [images]
    out = [as_rgb(im) for im in images]
    if not out:
        raise InriaError("pq_mim fit needs at least one image")
    return out


@torch.no_grad()
def encode_grids(autoencoder, images: list[torch.Tensor], device) -> list[torch.Tensor]:
    """Each image and its mirror -> (M, h, w) index grids (images padded to the downsampling)."""
    from inria.ops.image import pad_to_multiple

    autoencoder.eval()
    grids = []
    for im in images:
        for view in (im, im.flip(-1)):
            x, _ = pad_to_multiple(view.unsqueeze(0).to(device), autoencoder.downsampling)
            grids.append(autoencoder.encode(x)[0].cpu().to(torch.int16))
    return grids


def refine_decoder(codec, images, ctx=None) -> dict[str, float]:
    """Stage 3 alone: the decoder trained on the frozen encoder's codes (config ``stage3``); the indices, the MIM
    model and so every stream's rate stay as they were. Also for a trained model (``train_default --refine``)."""
    from .objectives import FrozenCodes

    c = codec.config
    images = _images(images)
    ck = Path(ctx.checkpoint_dir) if ctx is not None else None
    cfg3 = c.stage3
    crops = RandomCrops(images, c.crop, length=max(cfg3.steps, 1) * cfg3.batch_size * cfg3.accum, seed=cfg3.seed + 2)
    ae = codec.autoencoder
    out = Trainer(FrozenCodes(ae), crops, cfg3, ctx=ctx, name="stage3",
                  checkpoint_dir=ck / "stage3" if ck else None).fit()
    ae.requires_grad_(True)
    codec.weights_changed()  # a new decoder is a new model id: streams of the old one are refused
    return {f"stage3/{k}": v for k, v in out.items()}


def fit_codec(codec, images, ctx=None) -> dict[str, float]:
    c = codec.config
    images = _images(images)
    device = torch.device(ctx.device if ctx is not None else "cpu")
    ck = Path(ctx.checkpoint_dir) if ctx is not None else None
    metrics: dict[str, float] = {}

    cfg1 = c.stage1
    crops = RandomCrops(images, c.crop, length=max(cfg1.steps, 1) * cfg1.batch_size * cfg1.accum, seed=cfg1.seed)
    ae = codec.autoencoder
    if c.pca_init and c.linear_path and not c.checkpoint:
        ds = ae.downsampling
        patches = RandomCrops(images, ds, length=max(20000, 4 * 3 * ds * ds), seed=cfg1.seed + 1)
        ae.init_from_pca(torch.stack([patches[i] for i in range(len(patches))]))
    out1 = Trainer(ae, crops, cfg1, ctx=ctx, name="stage1",
                   checkpoint_dir=ck / "stage1" if ck else None).fit()
    metrics.update({f"stage1/{k}": v for k, v in out1.items()})
    if c.refine_decoder:
        metrics.update(refine_decoder(codec, images, ctx))

    metrics.update(train_mim(codec, images, ctx, device))
    return metrics


def train_mim(codec, images, ctx=None, device=None) -> dict[str, float]:
    """Stage 2: the MIM transformer on the frozen encoder's index grids (config ``stage2``), from the weights it
    has. Also alone, for a trained model (``train_default --mim``): reconstructions stay, only the rates move."""
    c = codec.config
    images = _images(images)
    device = torch.device(device or (ctx.device if ctx is not None else "cpu"))
    ck = Path(ctx.checkpoint_dir) if ctx is not None else None
    grids = encode_grids(codec.autoencoder.to(device), images, device)
    side = c.mim_tile
    if not any(g.shape[-1] >= side and g.shape[-2] >= side for g in grids):
        side = min(min(g.shape[-2:]) for g in grids)  # tiny training images: train on what they hold
    cfg2 = c.stage2
    windows = IndexCrops(grids, side, length=max(cfg2.steps, 1) * cfg2.batch_size * cfg2.accum, seed=cfg2.seed)
    out2 = Trainer(codec.mim, windows, cfg2, ctx=ctx, name="stage2",
                   checkpoint_dir=ck / "stage2" if ck else None).fit()
    codec.autoencoder.cpu().eval()
    codec.mim.cpu().eval()
    codec.weights_changed()  # a new MIM model is a new model id: streams of the old one are refused
    return {f"stage2/{k}": v for k, v in out2.items()}
