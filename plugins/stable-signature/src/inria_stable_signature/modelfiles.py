"""Model directories of the two watermarkers: ``card.yaml`` + ``weights.safetensors``.

stable_signature::

    card.yaml      config, and under extra: key (0/1 string), extractor
                   ({kind: hidden, arch} or {kind: torchscript, path}),
                   autoencoder ({kind: small, latent_channels, channels} or
                   {kind: diffusers, path})
    weights.safetensors
                   extractor.*   whitened HiDDeN extractor (kind hidden)
                   autoencoder.* the original small autoencoder (kind small)
                   decoder_w.*   the decoder side of the watermarked copy

hidden::

    card.yaml      config, extra: arch, scaling_w, scale_channels
    weights.safetensors  encoder.*, decoder.* (the raw extractor)

A TorchScript extractor is never copied into a model directory nor loaded
from a path read in a card: the user names it again (``extractor=``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from inria.errors import InriaError
from inria.modeldir import load_weights, read_card, save_weights, write_card

from . import detection as det
from .autoencoder import Autoencoder, SmallAutoencoder
from .extractor import Extractor, hidden_extractor
from .hidden import HiddenArch, HiddenDecoder, HiddenEmbedder, hidden_decoder, hidden_encoder


def _sub(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _load_strict(module: torch.nn.Module, state: dict, where: str) -> None:
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    bad = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or bad:
        first = (missing or unexpected or bad)[0]
        raise InriaError(f"weights do not fit the architecture in card.yaml ({len(missing)} missing, {len(unexpected)} "
                         f"unexpected, {len(bad)} of another shape, e.g. '{first}')", where=where)
    module.load_state_dict(state)


def load_diffusers_vae(path: str | Path) -> Autoencoder:
    """A diffusers AutoencoderKL from a local folder (config.json + weights); nothing is downloaded."""
    p = Path(path).expanduser()
    if not (p / "config.json").is_file():
        raise InriaError(f"not a diffusers AutoencoderKL folder (no config.json): {p}", where="vae")
    try:
        from diffusers import AutoencoderKL
    except ImportError as e:  # pragma: no cover
        raise InriaError(f"loading a VAE folder needs diffusers ({e})", where="vae", hint="pip install diffusers") from None
    try:
        vae = AutoencoderKL.from_pretrained(str(p), local_files_only=True)
    except Exception as e:
        raise InriaError(f"cannot load the VAE in {p} ({type(e).__name__}: {str(e).splitlines()[0][:120]})",
                         where="vae") from None
    return Autoencoder(vae.eval(), where="vae")


def _extractor_from(extra: dict, weights: dict, cfg, where: str) -> Extractor | None:
    info = extra.get("extractor") or {}
    kind = info.get("kind")
    if kind == "hidden":
        arch = HiddenArch(**info["arch"])
        dec = hidden_decoder(arch)
        whiten = torch.nn.Linear(arch.bits, arch.bits)
        ext = hidden_extractor(dec, whiten)
        _load_strict(ext, _sub(weights, "extractor."), where)
        return ext.eval().requires_grad_(False)
    if kind == "torchscript":
        if cfg.extractor is None:
            raise InriaError(f"this model uses the TorchScript extractor {info.get('path')}; TorchScript is code, so it "
                             f"is only loaded when you name it: pass extractor=<path>", where="extractor")
        return None  # loaded by the caller from cfg.extractor
    return None


def read_stable_signature(path: Path, cfg) -> dict:
    card = read_card(path)
    if card.get("implementation") != "stable_signature":
        raise InriaError(f"holds a '{card.get('implementation')}' model, not 'stable_signature'", where=str(path / "card.yaml"))
    extra = card.get("extra") or {}
    where = str(path / "weights.safetensors")
    weights = load_weights(path)
    out: dict = {"extra": extra}
    out["extractor"] = _extractor_from(extra, weights, cfg, where)
    ae_info = extra.get("autoencoder") or {}
    if ae_info.get("kind") == "small":
        small = SmallAutoencoder(int(ae_info["latent_channels"]), tuple(ae_info["channels"]))
        _load_strict(small, _sub(weights, "autoencoder."), where)
        out["autoencoder"] = Autoencoder(small.eval().requires_grad_(False))
    elif ae_info.get("kind") == "diffusers":
        if cfg.vae is None:
            out["autoencoder"] = load_diffusers_vae(ae_info["path"])
    dec_state = _sub(weights, "decoder_w.")
    if dec_state:
        base = out.get("autoencoder")
        if base is None and cfg.vae is not None:
            base = load_diffusers_vae(cfg.vae)
            out["autoencoder"] = base
            out["vae_from_config"] = True
        if base is None:
            raise InriaError("the model's autoencoder is not available", where=str(path / "card.yaml"))
        tuned = base.tunable_copy()
        own = tuned.decoder_state()
        if set(own) != set(dec_state) or any(tuple(own[k].shape) != tuple(dec_state[k].shape) for k in own):
            raise InriaError("the watermarked decoder in weights.safetensors does not fit this autoencoder "
                             "(its latent or layer shapes differ)", where=where,
                             hint="use the VAE the model was tuned from")
        tuned.module.load_state_dict(dec_state, strict=False)
        out["watermarked"] = tuned.eval().requires_grad_(False)
    if extra.get("key"):
        out["key"] = det.parse_key(str(extra["key"]), cfg.bits, where=f"{path}/card.yaml:extra.key")
    return out


def write_stable_signature(path: Path, wm) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    extra: dict = {"key": det.key_string(wm.key)}
    ext = wm.extractor
    if isinstance(ext.net, torch.jit.ScriptModule):
        extra["extractor"] = {"kind": "torchscript", "path": str(wm.config.extractor)}
    elif isinstance(ext.net, torch.nn.Sequential) and isinstance(ext.net[0], HiddenDecoder):
        dec = ext.net[0]
        extra["extractor"] = {"kind": "hidden", "arch": {
            "bits": dec.bits, "encoder_depth": 4, "encoder_channels": 64,
            "decoder_depth": len(dec.layers) - 2, "decoder_channels": int(dec.layers[0].layers[0].out_channels),
            "padding": dec.layers[0].layers[0].padding_mode}}  # not in the state dict: a lost 'circular' misreads
        if not ext.whitened:
            raise InriaError("the extractor is not whitened; whiten it before saving", where="extractor")
        tensors.update({f"extractor.{k}": v for k, v in ext.state_dict().items()})
    else:
        raise InriaError(f"cannot save an extractor of type {type(ext.net).__name__}: model directories hold whitened "
                         f"HiDDeN extractors, or refer to a TorchScript file", where="extractor",
                         hint="export it with extractor.export_torchscript and load it back with extractor=<file>")
    ae = wm.autoencoder.module
    if isinstance(ae, SmallAutoencoder):
        extra["autoencoder"] = {"kind": "small", "latent_channels": ae.latent_channels, "channels": list(ae.channels)}
        tensors.update({f"autoencoder.{k}": v for k, v in ae.state_dict().items()})
    else:
        extra["autoencoder"] = {"kind": "diffusers", "path": str(wm.config.vae)}
    tensors.update({f"decoder_w.{k}": v for k, v in wm.watermarked.decoder_state().items()})
    if getattr(wm, "card_info", None):
        extra["info"] = wm.card_info
    save_weights(path, tensors)
    write_card(path, wm, **extra)
    return path


def read_hidden(path: Path, cfg) -> tuple[HiddenArch, HiddenEmbedder, torch.nn.Module]:
    if path.is_file():  # a checkpoint of the paper's hidden/main.py
        from .official import load_hidden_checkpoint

        arch, enc_state, dec_state, params = load_hidden_checkpoint(path, where="checkpoint")
        if not enc_state:
            raise InriaError(f"{path.name} holds only an extractor; 'hidden' needs the encoder too", where="checkpoint")
        enc, dec = hidden_encoder(arch), hidden_decoder(arch)
        _load_strict(enc, enc_state, str(path))
        _load_strict(dec, dec_state, str(path))
        scaling = float(params.get("scaling_w", cfg.scaling_w))
        channels = bool(params.get("scale_channels", cfg.scale_channels))
        return arch, HiddenEmbedder(enc.eval(), scaling, channels), dec.eval()
    card = read_card(path)
    if card.get("implementation") != "hidden":
        raise InriaError(f"holds a '{card.get('implementation')}' model, not 'hidden'", where=str(path / "card.yaml"))
    extra = card.get("extra") or {}
    arch = HiddenArch(**extra["arch"])
    weights = load_weights(path)
    enc, dec = hidden_encoder(arch), hidden_decoder(arch)
    where = str(path / "weights.safetensors")
    _load_strict(enc, _sub(weights, "encoder."), where)
    _load_strict(dec, _sub(weights, "decoder."), where)
    embedder = HiddenEmbedder(enc.eval(), cfg.scaling_w, bool(extra.get("scale_channels", cfg.scale_channels)))
    return arch, embedder, dec.eval()


def write_hidden(path: Path, wm) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"encoder.{k}": v for k, v in wm.embedder.encoder.state_dict().items()}
    tensors.update({f"decoder.{k}": v for k, v in wm.decoder.state_dict().items()})
    save_weights(path, tensors)
    extra = {"arch": dataclasses.asdict(wm.arch), "scale_channels": bool(wm.config.scale_channels)}
    if getattr(wm, "card_info", None):
        extra["info"] = wm.card_info
    write_card(path, wm, **extra)
    return path


__all__ = ["read_stable_signature", "write_stable_signature", "read_hidden", "write_hidden", "load_diffusers_vae"]
