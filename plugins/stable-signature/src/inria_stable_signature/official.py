"""The paper's released files, read from local paths only.

- ``dec_48b_whit.torchscript.pt`` — whitened extractor, TorchScript
  (:func:`inria_stable_signature.extractor.load_torchscript`; TorchScript is
  code: only a path the user names is loaded).
- ``dec_48b.pth`` / ``hidden_replicate*.pth`` / ``checkpoint*.pth`` of
  ``hidden/main.py`` — ``{'encoder_decoder': state dict (DDP ``module.``
  prefix), 'params': argparse.Namespace, ...}``: :func:`load_hidden_checkpoint`.
- ``sd2_decoder.pth`` (an LDM-named state dict of the watermarked first-stage
  decoder) and ``checkpoint_XXX.pth`` of ``finetune_ldm_decoder.py``
  (``{'ldm_decoder': ..., 'optimizer': ..., 'params': Namespace}``):
  :func:`load_ldm_decoder`, converted to diffusers' ``AutoencoderKL`` names
  with diffusers' own converter.
- ``keys.txt`` (``path<TAB>key`` per line): :func:`read_keys_txt`.

Every file is read with ``torch.load(weights_only=True)``; the only
non-tensor class allowed is ``argparse.Namespace`` (the runs' arguments),
through ``torch.serialization.safe_globals`` — never full unpickling.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import torch

from inria.errors import InriaError

from .hidden import HiddenArch


def torch_load(path: str | Path, where: str) -> Any:
    """``torch.load(weights_only=True)`` allowing ``argparse.Namespace``; one-line errors."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InriaError(f"checkpoint not found: {p}", where=where)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as e:
        msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise InriaError(f"{p.name} holds objects other than tensors and argparse.Namespace; refusing to "
                             f"unpickle it ({msg})", where=where) from None
        raise InriaError(f"cannot read {p.name}: corrupt or truncated checkpoint ({type(e).__name__}: {msg})",
                         where=where) from None


def _namespace(obj: Any) -> dict:
    if isinstance(obj, argparse.Namespace):
        return vars(obj)
    return obj if isinstance(obj, dict) else {}


def load_hidden_checkpoint(path: str | Path, where: str = "checkpoint") -> tuple[HiddenArch, dict, dict, dict]:
    """``(arch, encoder_state, decoder_state, params)`` from a HiDDeN training checkpoint.

    A bare extractor state dict (keys ``layers.*``, ``linear.*``) is accepted
    too; its architecture is read from the tensor shapes.
    """
    ck = torch_load(path, where)
    if not isinstance(ck, dict):
        raise InriaError(f"{Path(path).name} is not a checkpoint dictionary", where=where)
    params = _namespace(ck.get("params"))
    state = ck.get("encoder_decoder", ck)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InriaError(f"{Path(path).name} has no 'encoder_decoder' state dict", where=where)
    enc, dec = {}, {}
    for key, v in state.items():
        k = key.removeprefix("module.")
        if k.startswith("encoder."):
            enc[k.removeprefix("encoder.")] = v
        elif k.startswith("decoder."):
            dec[k.removeprefix("decoder.")] = v
        elif k.startswith(("layers.", "linear.")):
            dec[k] = v
    if "linear.weight" not in dec:
        raise InriaError(f"{Path(path).name} holds no HiDDeN extractor (no 'decoder.linear.weight')", where=where)
    bits = int(dec["linear.weight"].shape[0])
    convs = sorted({int(m.group(1)) for k in dec if (m := re.match(r"layers\.(\d+)\.layers\.0\.weight$", k))})
    dec_depth = len(convs) - 1
    dec_ch = int(dec["layers.0.layers.0.weight"].shape[0])
    enc_depth = len({int(m.group(1)) for k in enc if (m := re.match(r"conv_bns\.(\d+)\.layers\.0\.weight$", k))})
    enc_ch = int(enc["conv_bns.0.layers.0.weight"].shape[0]) if enc else int(params.get("encoder_channels", 64))
    redundancy = int(params.get("redundancy", 1))
    if redundancy != 1:
        raise InriaError(f"checkpoints trained with redundancy {redundancy} are not supported (only 1)", where=where)
    arch = HiddenArch(bits=bits, encoder_depth=enc_depth or int(params.get("encoder_depth", 4)),
                      encoder_channels=enc_ch, decoder_depth=dec_depth, decoder_channels=dec_ch)
    return arch, enc, dec, params


# -- LDM decoder -> diffusers AutoencoderKL -------------------------------------------------

LDM_DECODER_PREFIXES = ("decoder.", "post_quant_conv.")


def load_ldm_decoder(path: str | Path, where: str = "decoder") -> tuple[dict, dict]:
    """``(ldm_state, params)``: the decoder-side tensors of ``sd2_decoder.pth`` or a ``checkpoint_XXX.pth``.

    Keys under ``first_stage_model.`` are accepted; encoder and loss keys
    are dropped (the tuned copy had its encoder replaced by an identity).
    """
    ck = torch_load(path, where)
    if not isinstance(ck, dict):
        raise InriaError(f"{Path(path).name} is not a state dict", where=where)
    params = _namespace(ck.get("params"))
    state = ck.get("ldm_decoder", ck)
    if not isinstance(state, dict):
        raise InriaError(f"{Path(path).name}: 'ldm_decoder' is not a state dict", where=where)
    out = {}
    for key, v in state.items():
        if not isinstance(v, torch.Tensor):
            continue
        k = key.removeprefix("first_stage_model.")
        if k.startswith(LDM_DECODER_PREFIXES):
            out[k] = v
    if not any(k.startswith("decoder.conv_in.") for k in out):
        raise InriaError(f"{Path(path).name} holds no LDM decoder weights (no 'decoder.conv_in.weight')", where=where,
                         hint="expected sd2_decoder.pth or a checkpoint_XXX.pth of finetune_ldm_decoder.py")
    return out, params


def ldm_to_diffusers(ldm_state: dict, vae_config: dict) -> dict:
    """Rename LDM first-stage keys to diffusers' ``AutoencoderKL`` keys (diffusers' converter)."""
    try:
        from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint
    except ImportError as e:  # pragma: no cover - diffusers is a dependency
        raise InriaError(f"converting LDM weights needs diffusers ({e})", where="decoder",
                         hint="pip install diffusers") from None
    return convert_ldm_vae_checkpoint(dict(ldm_state), dict(vae_config))


def load_into_vae(vae, path: str | Path, where: str = "decoder") -> dict:
    """Load a watermarked LDM decoder file into diffusers ``vae`` (in place); returns the run params.

    Every decoder-side key of ``vae`` must be present with its shape; an
    incompatible file is an error naming what differs, never a silent
    partial load (the paper's users who saw 50 % bit accuracy had that).
    """
    ldm, params = load_ldm_decoder(path, where)
    converted = ldm_to_diffusers(ldm, vae.config)
    own = {k: v for k, v in vae.state_dict().items() if k.startswith(LDM_DECODER_PREFIXES)}
    missing = sorted(set(own) - set(converted))
    if missing:
        raise InriaError(f"{Path(path).name} lacks {len(missing)} decoder weights of this VAE (e.g. '{missing[0]}')",
                         where=where, hint="is it a decoder of the same autoencoder architecture?")
    for k, v in own.items():
        if tuple(converted[k].shape) != tuple(v.shape):
            raise InriaError(f"{Path(path).name}: '{k}' has shape {tuple(converted[k].shape)}, this VAE has "
                             f"{tuple(v.shape)}", where=where, hint="the VAE and the decoder file do not match")
    vae.load_state_dict({k: converted[k] for k in own}, strict=False)
    return params


def read_keys_txt(path: str | Path) -> dict[str, str]:
    """``keys.txt`` of finetune_ldm_decoder.py: checkpoint path -> key string."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InriaError(f"keys file not found: {p}", where="keys")
    out = {}
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[1].strip() or set(parts[1].strip()) - {"0", "1"}:
            raise InriaError(f"line {n} is not '<checkpoint>\\t<0/1 key>'", where=str(p))
        out[parts[0].strip()] = parts[1].strip()
    return out
