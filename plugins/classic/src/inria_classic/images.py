"""Between the core's images (float tensors in [0, 1]) and 8-bit arrays.

Pillow and invisible-watermark work on uint8 (H, W, 3) arrays. Every
conversion rounds to the nearest 8-bit level (the core's ``to_uint8``), so
an image that went through ``from_uint8`` converts back to the exact same
bytes: a mark written in 8 bits is read back from the same 8 bits.
"""
from __future__ import annotations

import numpy as np
import torch
from inria import InriaError
from inria.ops.image import to_uint8

ACCEPTED = "one RGB image as a float tensor of shape (3, H, W) with values in [0, 1]"


def check_image(image, where: str) -> torch.Tensor:
    """Return ``image`` if it is a finite float (3, H, W) tensor, else a one-line InriaError."""
    if not isinstance(image, torch.Tensor):
        raise InriaError(f"got a {type(image).__name__}", where=where, hint=f"accepted: {ACCEPTED}")
    if image.dim() != 3 or image.shape[0] != 3 or min(image.shape[1:]) < 1:
        raise InriaError(f"got a tensor of shape {tuple(image.shape)}", where=where,
                         hint=f"accepted: {ACCEPTED} (index a batch: images[i])")
    if not image.is_floating_point():
        raise InriaError(f"got a {image.dtype} tensor", where=where, hint=f"accepted: {ACCEPTED} (divide 8-bit images by 255)")
    # One reduction instead of isfinite(image).all(): NaN and inf survive a sum, and this check
    # costs ~1 ms per megapixel instead of as much as the JPEG encode (benchmarks/classic_overhead.py).
    if not bool(torch.isfinite(image.sum())):
        raise InriaError("the image holds NaN or infinite values", where=where, hint=f"accepted: {ACCEPTED}")
    return image


def to_rgb_array(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8 RGB, contiguous (values outside [0, 1] are clipped)."""
    return np.ascontiguousarray(to_uint8(image.detach().cpu()).permute(1, 2, 0).numpy())


def from_rgb_array(array: np.ndarray, device=None) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 in [0, 1]."""
    writable = np.array(array, dtype=np.uint8, order="C")  # a copy: Pillow's arrays are read-only
    out = torch.from_numpy(writable).permute(2, 0, 1).float().div_(255)
    return out.to(device) if device is not None else out
