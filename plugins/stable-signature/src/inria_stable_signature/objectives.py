"""The plugin's training objectives (entry-point group ``inria.objectives``) and the modules they train.

``hidden_message`` — HiDDeN pre-training: random messages, embed, one
attack from the attack layer, extract; BCE on the logits (divided by the
margin) plus an optional image loss. Trains :class:`HiddenModel`.

``stable_signature_decoder`` — decoder tuning: encode with the frozen
autoencoder, decode with the original (``D(z)``, no grad) and with the copy
being tuned (``D'(z)``), extract from ``D'(z)`` with the frozen extractor;
``lambda_w * BCE(temperature * logits, key) + lambda_i * perceptual(D'(z), D(z))``
(the paper: temperature 10, Watson-VGG with lambda_i 0.2; Watson-DFT here by
default since it needs no downloaded weights). Trains :class:`DecoderTuning`.
An attack layer between ``D'(z)`` and the extractor is off by default (the
paper tunes without it) and can be switched on.
"""
from __future__ import annotations

import dataclasses
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from inria.errors import InriaError

from .attack_layer import AttackLayer, AttackLayerConfig
from .autoencoder import Autoencoder
from .extractor import Extractor
from .hidden import HiddenDecoder, HiddenEmbedder, normalize


def _images(batch) -> torch.Tensor:
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    if isinstance(batch, dict) and isinstance(batch.get("images"), torch.Tensor):
        return batch["images"]
    raise InriaError(f"expected a batch of images, got {type(batch).__name__}", where="objective")


def _psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    mse = ((a.detach().clamp(0, 1) - b.detach().clamp(0, 1)) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return (10 * torch.log10(1 / mse)).mean()


def _attack_layer(attacks: dict | bool | None, seed: int) -> AttackLayer | None:
    if not attacks:
        return None
    from inria.config import build

    cfg = build(AttackLayerConfig, attacks if isinstance(attacks, dict) else {}, where="objective_args.attacks")
    return AttackLayer(cfg, rng=random.Random(seed))


# -- HiDDeN ------------------------------------------------------------------------------------

class HiddenModel(nn.Module):
    """Encoder (as an embedder) + extractor, trained together."""

    def __init__(self, embedder: HiddenEmbedder, decoder: HiddenDecoder):
        super().__init__()
        self.embedder = embedder
        self.decoder = decoder
        self.bits = decoder.bits

    def forward(self, x: torch.Tensor, msgs: torch.Tensor, attack=None, scaling_w: float | None = None):
        s = self.embedder.scaling_w if scaling_w is None else scaling_w
        x_w = x + s * self.embedder.residual(x, msgs)
        x_a = attack(x_w)[0] if attack is not None else x_w
        return x_w, self.decoder(normalize(x_a))


class HiddenMessage:
    """HiDDeN's loss. ``objective_args``: margin, lambda_w, lambda_i, loss_i, attacks (AttackLayerConfig), seed,
    attacks_from (optimizer steps trained without the attack layer first: a warm-up that lets the pair find a code
    before the attacks blur it; 0 = attacks from the start, as the official recipe), attack_schedule (a curriculum:
    ``[[step, family], ...]`` adds each AttackLayerConfig family from its step on, one by one, on top of
    ``attacks``; e.g. ``[[6000, crop], [7000, jpeg]]``), scaling_schedule (the residual strength annealed:
    ``[[step, scaling_w], ...]``, linear between the points, constant outside them; empty = the embedder's
    ``scaling_w`` throughout). A loud residual lets the code emerge; annealing it down afterwards brings the
    pair to the target PSNR without an image loss fighting the message loss."""

    name = "hidden_message"

    def __init__(self, margin: float = 1.0, lambda_w: float = 1.0, lambda_i: float = 0.0, loss_i: str = "mse",
                 attacks: dict | bool | None = True, seed: int = 0, attacks_from: int = 0,
                 attack_schedule: list | None = None, scaling_schedule: list | None = None):
        from inria.losses import perceptual_loss

        if margin <= 0:
            raise InriaError(f"margin must be > 0, got {margin}", where="objective_args.margin")
        if attacks_from < 0:
            raise InriaError(f"attacks_from must be >= 0, got {attacks_from}", where="objective_args.attacks_from")
        self.attacks_from = int(attacks_from)
        self.scaling_schedule: list[tuple[int, float]] = []
        for i, item in enumerate(scaling_schedule or []):
            if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], int)
                    and isinstance(item[1], (int, float)) and item[1] > 0):
                raise InriaError(f"scaling_schedule[{i}] = {item!r} is not [step, scaling_w > 0]",
                                 where="objective_args.scaling_schedule", hint="e.g. [[0, 1.0], [9000, 0.15]]")
            if self.scaling_schedule and item[0] <= self.scaling_schedule[-1][0]:
                raise InriaError(f"scaling_schedule[{i}] step {item[0]} does not increase",
                                 where="objective_args.scaling_schedule")
            self.scaling_schedule.append((int(item[0]), float(item[1])))
        self.margin, self.lambda_w, self.lambda_i = float(margin), float(lambda_w), float(lambda_i)
        self.loss_i = perceptual_loss(loss_i) if self.lambda_i > 0 else None
        self.attack = _attack_layer(attacks, seed)
        self.schedule: list[tuple[int, AttackLayer]] = []
        if attack_schedule:
            families = {f.name for f in dataclasses.fields(AttackLayerConfig)} - {"per_batch"}
            enabled = dict(attacks) if isinstance(attacks, dict) else {f: False for f in families}
            for i, item in enumerate(attack_schedule):
                if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], int)
                        and item[1] in families):
                    raise InriaError(f"attack_schedule[{i}] = {item!r} is not [step, family]",
                                     where="objective_args.attack_schedule", hint=f"families: {sorted(families)}")
                enabled[item[1]] = True
                self.schedule.append((item[0], _attack_layer(dict(enabled), seed + i + 1)))

    def attack_at(self, step: int):
        """The attack layer used at optimizer step ``step`` (None: no attack)."""
        for start, layer in reversed(self.schedule):
            if step >= start:
                return layer
        return self.attack if step >= self.attacks_from else None

    def scaling_at(self, step: int) -> float | None:
        """The residual strength at optimizer step ``step`` (None: the embedder's own)."""
        sched = self.scaling_schedule
        if not sched:
            return None
        if step <= sched[0][0]:
            return sched[0][1]
        for (s0, w0), (s1, w1) in zip(sched, sched[1:]):
            if step <= s1:
                return w0 + (w1 - w0) * (step - s0) / (s1 - s0)
        return sched[-1][1]

    def __call__(self, model, batch, ctx):
        x = _images(batch)
        bits = ctx.module.bits
        msgs = (torch.rand(x.shape[0], bits, device=x.device) > 0.5).float()
        step = getattr(ctx, "step", 0)
        attack = self.attack_at(step)
        scaling = self.scaling_at(step)
        x_w, logits = model(x, msgs, attack) if scaling is None else model(x, msgs, attack, scaling)
        loss_w = F.binary_cross_entropy_with_logits(logits / self.margin, msgs)
        loss = self.lambda_w * loss_w
        metrics = {"loss_w": loss_w.detach(), "bit_acc": ((logits.detach() > 0) == (msgs > 0)).float().mean(),
                   "psnr": _psnr(x_w, x)}
        if scaling is not None:
            metrics["scaling_w"] = torch.tensor(scaling)
        if self.loss_i is not None:
            self.loss_i.to(x.device)
            loss_i = self.loss_i(x_w, x)
            loss = loss + self.lambda_i * loss_i
            metrics["loss_i"] = loss_i.detach()
        return loss, metrics

    def state_dict(self) -> dict:
        out = {"attack": self.attack.state_dict()} if self.attack is not None else {}
        if self.schedule:
            out["schedule"] = [layer.state_dict() for _, layer in self.schedule]
        return out

    def load_state_dict(self, state: dict) -> None:
        if self.attack is not None and state.get("attack"):
            self.attack.load_state_dict(state["attack"])
        for (_, layer), st in zip(self.schedule, state.get("schedule") or []):
            layer.load_state_dict(st)


# -- decoder tuning -----------------------------------------------------------------------------

class DecoderTuning(nn.Module):
    """The frozen autoencoder and extractor around the decoder copy being tuned."""

    def __init__(self, reference: Autoencoder, tuned: Autoencoder, extractor: Extractor, key: torch.Tensor):
        super().__init__()
        self.reference = reference.requires_grad_(False)
        self.extractor = extractor.requires_grad_(False)
        self.tuned = tuned
        for n, p in tuned.module.named_parameters():
            p.requires_grad_(not n.startswith(("encoder", "quant_conv")))
        self.register_buffer("key", key.float().reshape(1, -1))
        self.bits = int(key.numel())

    def train(self, mode: bool = True):
        super().train(mode)
        self.reference.eval()  # frozen parts keep their BatchNorm statistics
        self.extractor.eval()
        return self

    def forward(self, x: torch.Tensor, attack=None):
        with torch.no_grad():
            xp, _ = self.reference.pad(x)
            z = self.reference.encode(xp)
            d0 = self.reference.decode(z)
        dw = self.tuned.decode(z)
        seen = attack(dw)[0] if attack is not None else dw
        return dw, d0, self.extractor(seen)


class DecoderWatermark:
    """Stable Signature's decoder loss. ``objective_args``: loss_i, lambda_i, lambda_w, temperature, loss_w
    ('bce' | 'mse'), loss_weights / loss_backbone_weights (local paths for watson-vgg / lpips), attacks, seed."""

    name = "stable_signature_decoder"

    def __init__(self, loss_i: str = "watson-dft", lambda_i: float = 0.2, lambda_w: float = 1.0,
                 temperature: float = 10.0, loss_w: str = "bce", loss_weights: str | None = None,
                 loss_backbone_weights: str | None = None, attacks: dict | bool | None = None, seed: int = 0):
        from inria.losses import perceptual_loss

        if loss_w not in ("bce", "mse"):
            raise InriaError(f"loss_w '{loss_w}' is not accepted", where="objective_args.loss_w", hint="accepted: bce, mse")
        self.lambda_i, self.lambda_w, self.temperature, self.loss_w = float(lambda_i), float(lambda_w), float(temperature), loss_w
        self.loss_i = perceptual_loss(loss_i, weights=loss_weights, backbone_weights=loss_backbone_weights)
        self.attack = _attack_layer(attacks, seed)

    def __call__(self, model, batch, ctx):
        x = _images(batch)
        dw, d0, logits = model(x, self.attack)
        key = ctx.module.key.expand(logits.shape[0], -1)
        t = self.temperature
        if self.loss_w == "bce":
            loss_w = F.binary_cross_entropy_with_logits(logits * t, key)
        else:
            loss_w = ((logits * t - (2 * key - 1)) ** 2).mean()
        self.loss_i.to(x.device)
        loss_i = self.loss_i(dw, d0)
        loss = self.lambda_w * loss_w + self.lambda_i * loss_i
        return loss, {"loss_w": loss_w.detach(), "loss_i": loss_i.detach(), "psnr": _psnr(dw, d0),
                      "bit_acc": ((logits.detach() > 0) == (key > 0)).float().mean()}

    def state_dict(self) -> dict:
        return {"attack": self.attack.state_dict()} if self.attack is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.attack is not None and state.get("attack"):
            self.attack.load_state_dict(state["attack"])
