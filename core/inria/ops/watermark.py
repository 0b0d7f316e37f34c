"""What goes into a watermarker, checked once for every plugin: images, keys and bit messages.

Bad input gets a one-line :class:`~inria.errors.InriaError` naming the image
or field and what is accepted. Text messages use 8 bits per character (the
SSL-watermarking convention): :func:`text_to_bits` / :func:`bits_to_text`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..errors import InriaError


def parse_key(key, bits: int, where: str = "key") -> np.ndarray:
    """A key as a bool array (bits,): from a '0101...' string, a list of 0/1 or bools, or an array."""
    if isinstance(key, str):
        text = key.strip()
        if not text or set(text) - {"0", "1"}:
            bad = sorted(set(text) - {"0", "1"})[:3]
            raise InriaError(f"key must be a string of 0 and 1, found {bad or 'nothing'}", where=where)
        arr = np.array([c == "1" for c in text], dtype=bool)
    else:
        raw = np.asarray(key)
        if raw.dtype == bool:
            arr = raw
        elif raw.dtype.kind in "iuf" and raw.size and np.isin(raw, (0, 1)).all():
            arr = raw.astype(bool)
        else:
            raise InriaError("key must hold only 0/1 (or true/false) values", where=where)
    if arr.ndim != 1 or arr.shape[0] != bits:
        raise InriaError(f"key has {arr.size} bits, expected {bits}", where=where,
                         hint="give exactly as many bits as the extractor outputs (bits)")
    return arr


def key_string(key: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in np.asarray(key, bool))


def parse_messages(messages, n: int, bits: int, where: str = "messages") -> np.ndarray:
    """Messages (n, bits) bool; a single key (bits,) is broadcast to every image."""
    arr = np.asarray(messages)
    if arr.ndim == 1 or (isinstance(messages, str)):
        return np.broadcast_to(parse_key(messages, bits, where), (n, bits)).copy()
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or (arr.size and not np.isin(arr, (0, 1)).all()):
            raise InriaError("messages must hold only 0/1 (or true/false) values", where=where)
        arr = arr.astype(bool)
    if arr.ndim != 2 or arr.shape[1] != bits:
        raise InriaError(f"messages have shape {tuple(arr.shape)}, expected ({n}, {bits})", where=where)
    if arr.shape[0] != n:
        raise InriaError(f"{arr.shape[0]} messages for {n} images", where=where)
    return arr


def check_images(images, min_side: int = 1, where: str = "images") -> list[torch.Tensor] | torch.Tensor:
    """RGB float images in [0, 1]: a (N, 3, H, W) tensor or a list of (3, H, W); one-line errors otherwise."""
    if isinstance(images, torch.Tensor):
        if images.dim() == 3:
            images = images[None]
        seq: Sequence[torch.Tensor] = list(images.unbind(0)) if images.dim() == 4 else [images]
    elif isinstance(images, (list, tuple)):
        seq = list(images)
    else:
        raise InriaError(f"expected a tensor or a list of tensors, got {type(images).__name__}", where=where)
    if not seq:
        raise InriaError("no images", where=where)
    for i, im in enumerate(seq):
        if not isinstance(im, torch.Tensor):
            raise InriaError(f"image {i} is a {type(im).__name__}, not a tensor", where=where)
        if im.dim() != 3:
            raise InriaError(f"image {i} has shape {tuple(im.shape)}, expected (3, H, W)", where=where)
        c = im.shape[0]
        if c != 3:
            kind = {1: "grayscale", 2: "grayscale + alpha", 4: "RGBA"}.get(c, f"{c}-channel")
            raise InriaError(f"image {i} is {kind} ({c} channels); RGB (3 channels) is accepted", where=where,
                             hint="convert it to RGB first (PIL: img.convert('RGB'))")
        if not im.is_floating_point():
            raise InriaError(f"image {i} has dtype {im.dtype}; float in [0, 1] is accepted", where=where)
        h, w = im.shape[-2:]
        if min(h, w) < min_side:
            raise InriaError(f"image {i} is {h}x{w} px; at least {min_side}x{min_side} is accepted",
                             where=where)
        if not torch.isfinite(im).all():
            raise InriaError(f"image {i} has NaN or infinite values", where=where)
    if isinstance(images, torch.Tensor):
        return images
    return seq


def text_to_bits(text: str, bits: int | None = None, where: str = "message") -> np.ndarray:
    """A text as 8 bits per character (UTF-8 bytes, most significant bit first), padded with zeros to ``bits``."""
    if not isinstance(text, str):
        raise InriaError(f"a text message must be a str, got {type(text).__name__}", where=where)
    raw = np.unpackbits(np.frombuffer(text.encode("utf-8"), dtype=np.uint8)).astype(bool)
    if bits is not None:
        if len(raw) > bits:
            raise InriaError(f"{text!r} needs {len(raw)} bits (8 per byte) but messages hold {bits}", where=where,
                             hint=f"at most {bits // 8} ASCII characters, or a watermarker with more bits")
        raw = np.concatenate([raw, np.zeros(bits - len(raw), bool)])
    return raw


def bits_to_text(bits: np.ndarray) -> str:
    """The inverse of :func:`text_to_bits`: whole bytes only, trailing zero bytes dropped, bad UTF-8 replaced."""
    arr = np.asarray(bits, dtype=bool)
    arr = arr[: len(arr) // 8 * 8]
    data = np.packbits(arr.astype(np.uint8)).tobytes().rstrip(b"\x00")
    return data.decode("utf-8", errors="replace")
