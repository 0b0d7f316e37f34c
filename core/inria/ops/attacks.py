"""Named image attacks, defined once for every plugin and recipe.

A name is ``op`` or ``op_<strength>``; ``a+b`` chains attacks left to right;
a ``_up`` suffix resizes the result back to the original size.

============== ===============================================================
name           meaning
============== ===============================================================
none           identity
jpeg_Q         real JPEG at quality Q (Pillow)
webp_Q         real WebP at quality Q
crop_A         centre crop keeping fraction A of the *area*, left at its new size
resize_S       resize each side by S (``resize_0.5`` halves the side), left small
rotate_D       rotate D degrees, same size, black corners
flip           horizontal flip
brightness_F   brightness factor F (1 = unchanged)
contrast_F     contrast factor F
saturation_F   saturation factor F
hue_H          hue shift H turns (-0.5..0.5)
sharpness_F    sharpness factor F
blur_K         Gaussian blur, kernel size K (odd)
noise_S        additive Gaussian noise, std S
text           text overlay across the lower part of the image
============== ===============================================================

Plugins add attacks through the ``inria_attacks`` hook (see inria.hooks).
"""
from __future__ import annotations

import re
from typing import Callable

from ..errors import InriaError, did_you_mean
from . import image as ops

# name -> (function(x, strength), default strength or None when it takes none)
_BUILTIN: dict[str, tuple[Callable, float | None]] = {
    "none": (lambda x, s: x, None),
    "jpeg": (lambda x, s: ops.jpeg(x, int(s)), 50),
    "webp": (lambda x, s: ops.webp(x, int(s)), 50),
    "crop": (lambda x, s: ops.center_crop(x, s), 0.5),
    "resize": (lambda x, s: ops.resize(x, scale=s), 0.5),
    "rotate": (lambda x, s: ops.rotate(x, s), 25),
    "flip": (lambda x, s: ops.hflip(x), None),
    "brightness": (lambda x, s: ops.brightness(x, s), 1.5),
    "contrast": (lambda x, s: ops.contrast(x, s), 1.5),
    "saturation": (lambda x, s: ops.saturation(x, s), 1.5),
    "hue": (lambda x, s: ops.hue(x, s), 0.1),
    "sharpness": (lambda x, s: ops.sharpness(x, s), 1.5),
    "blur": (lambda x, s: ops.gaussian_blur(x, int(s)), 3),
    "noise": (lambda x, s: ops.gaussian_noise(x, s, generator=_seeded()), 0.05),
    "text": (lambda x, s: ops.text_overlay(x), None),
}

# The Stable Signature evaluation set (run_evals.py), in the core's names.
PAPER_ATTACKS = [
    "none", "crop_0.5", "crop_0.1", "rotate_25", "rotate_90", "jpeg_80", "jpeg_50",
    "brightness_1.5", "brightness_2", "contrast_1.5", "contrast_2", "saturation_1.5", "saturation_2",
    "sharpness_1.5", "sharpness_2", "resize_0.5", "resize_0.1", "text", "crop_0.5+brightness_1.5+jpeg_80",
]

_NAME = re.compile(r"^(?P<op>[a-z][a-z0-9]*?)(?:_(?P<strength>-?[0-9]*\.?[0-9]+))?(?P<up>_up)?$")


def _seeded():
    import torch

    return torch.Generator().manual_seed(0)


def available() -> dict[str, tuple[Callable, float | None]]:
    """Built-in attacks plus those plugins add through the ``inria_attacks`` hook."""
    from ..hooks import plugin_manager

    table = dict(_BUILTIN)
    for extra in plugin_manager().hook.inria_attacks():
        for name, fn in (extra or {}).items():
            table.setdefault(name, (fn, None))
    return table


def parse(name: str) -> list[tuple[str, float | None, bool]]:
    """``'crop_0.5+jpeg_80_up'`` -> [('crop', 0.5, False), ('jpeg', 80.0, True)]; errors name the bad part."""
    if not isinstance(name, str) or not name.strip():
        raise InriaError(f"{name!r} is not an attack name", hint="e.g. jpeg_50, crop_0.5, resize_0.5_up, a+b")
    table = available()
    parts = []
    for part in name.split("+"):
        m = _NAME.match(part.strip())
        op = m.group("op") if m else part
        if not m or op not in table:
            raise InriaError(f"unknown attack '{part}'", hint=did_you_mean(op, table))
        strength = m.group("strength")
        fn, default = table[op]
        parts.append((op, float(strength) if strength is not None else default, bool(m.group("up"))))
    return parts


def apply(name: str, images):
    """Apply the (chained) attack ``name`` to images (tensor or list).

    ``_up`` on any part resizes that part's result back to the size of the
    images given to this call (the original), so ``crop_0.5_up`` is a zoom.
    """
    table = available()
    original = [im.shape[-2:] for im in ops.as_list(images)]
    out = images
    for op, strength, up in parse(name):
        fn, _ = table[op]
        out = fn(out, strength)
        if up:
            out = ops.stack_if_same([
                ops.resize(im.unsqueeze(0), size=tuple(size))[0] for im, size in zip(ops.as_list(out), original)
            ])
    return out
