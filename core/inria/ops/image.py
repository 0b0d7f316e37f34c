"""Batched image operations on float tensors in [0, 1].

Every function takes ``x`` as a (N, 3, H, W) tensor (or a list of (3, H, W)
tensors, processed one by one) and returns the same kind. Geometric and
photometric ops are differentiable (torchvision's tensor kernels); JPEG and
WebP go through the real codecs (Pillow), and :func:`jpeg_ste` makes JPEG
usable in training with a straight-through gradient (forward: the real JPEG
image; backward: identity), as HiDDeN/Stable Signature train for JPEG.
"""
from __future__ import annotations

import io
import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

Images = "torch.Tensor | list[torch.Tensor]"


class _LazyTF:
    """torchvision.transforms.v2.functional, imported on first use: importing it
    pulls in torch._dynamo (seconds), which a codec's fresh decoder never needs."""

    def __getattr__(self, name):
        import torchvision.transforms.v2.functional as tf

        return getattr(tf, name)


TF = _LazyTF()


# -- helpers -----------------------------------------------------------------

def as_list(x) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        if x.dim() == 3:
            return [x]
        return list(x.unbind(0))
    return list(x)


def stack_if_same(images: Sequence[torch.Tensor]):
    """A (N, 3, H, W) tensor when every image has one size, else the list."""
    images = list(images)
    if images and all(im.shape == images[0].shape for im in images):
        return torch.stack(images)
    return images


def per_image(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    """Lift a (1, 3, H, W) -> (1, 3, h, w) op to batches and lists."""

    def apply(x, *args, **kw):
        if isinstance(x, torch.Tensor) and x.dim() == 4:
            return fn(x, *args, **kw)
        out = [fn(im.unsqueeze(0), *args, **kw)[0] for im in as_list(x)]
        return stack_if_same(out)

    apply.__name__ = fn.__name__
    apply.__doc__ = fn.__doc__
    return apply


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    # in place on one temporary: this sits on every codec's and watermarker's hot path
    return x.mul(255).round_().clamp_(0, 255).to(torch.uint8)


def to_pil(im: torch.Tensor):
    from PIL import Image

    arr = to_uint8(im.detach().cpu()).permute(1, 2, 0).numpy()
    return Image.fromarray(arr, "RGB")


def from_pil(img, device=None) -> torch.Tensor:
    import numpy as np

    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    t = torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255)
    return t.to(device) if device is not None else t


# -- codecs as attacks ---------------------------------------------------------

def _pil_roundtrip(x: torch.Tensor, fmt: str, **save_kw) -> torch.Tensor:
    from PIL import Image

    outs = []
    for im in x:
        buf = io.BytesIO()
        to_pil(im).save(buf, format=fmt, **save_kw)
        buf.seek(0)
        outs.append(from_pil(Image.open(buf), device=im.device))
    return torch.stack(outs).to(x.dtype)


@per_image
def jpeg(x: torch.Tensor, quality: int = 50) -> torch.Tensor:
    """Real JPEG compression (Pillow, 4:2:0) at ``quality``; not differentiable."""
    return _pil_roundtrip(x, "JPEG", quality=int(quality))


def jpeg_ste(x, quality: int = 50):
    """JPEG with a straight-through gradient: forward = real JPEG, backward = identity."""
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return x + (jpeg(x.detach(), quality) - x).detach()
    return stack_if_same([jpeg_ste(im.unsqueeze(0), quality)[0] for im in as_list(x)])


@per_image
def webp(x: torch.Tensor, quality: int = 50) -> torch.Tensor:
    """Real WebP compression (Pillow) at ``quality``."""
    return _pil_roundtrip(x, "WEBP", quality=int(quality))


# -- geometry --------------------------------------------------------------------

def _area_side(h: int, w: int, area: float) -> tuple[int, int]:
    s = math.sqrt(area)
    return max(1, round(h * s)), max(1, round(w * s))


@per_image
def center_crop(x: torch.Tensor, area: float = 0.5) -> torch.Tensor:
    """Keep the centre ``area`` fraction of the pixels (same aspect), at its new size."""
    h, w = x.shape[-2:]
    ch, cw = _area_side(h, w, area)
    top, left = (h - ch) // 2, (w - cw) // 2
    return x[..., top:top + ch, left:left + cw]


def random_crop(x: torch.Tensor, area: float | tuple[float, float] = 0.5, generator: torch.Generator | None = None,
                same_for_batch: bool = True) -> torch.Tensor:
    """Crop a random window keeping ``area`` of the pixels (a float or a (lo, hi) range)."""
    h, w = x.shape[-2:]
    if isinstance(area, (tuple, list)):
        area = float(torch.empty(()).uniform_(area[0], area[1], generator=generator))
    ch, cw = _area_side(h, w, area)
    top = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
    return x[..., top:top + ch, left:left + cw]


def resize(x, scale: float | None = None, size: tuple[int, int] | None = None, antialias: bool = True):
    """Resize by ``scale`` of the side (``resize_0.5`` halves each side) or to ``size`` (h, w)."""

    def one(im: torch.Tensor) -> torch.Tensor:
        h, w = im.shape[-2:]
        target = size or (max(1, round(h * scale)), max(1, round(w * scale)))
        if tuple(target) == (h, w):
            return im
        return F.interpolate(im, size=target, mode="bilinear", align_corners=False, antialias=antialias).clamp(0, 1)

    return per_image(one)(x)


@per_image
def rotate(x: torch.Tensor, degrees: float = 25.0) -> torch.Tensor:
    """Rotate by ``degrees`` (counter-clockwise) about the centre, same size, black corners."""
    return TF.rotate(x, float(degrees), interpolation=TF.InterpolationMode.BILINEAR)


@per_image
def hflip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1)


# -- photometry --------------------------------------------------------------------

@per_image
def brightness(x: torch.Tensor, factor: float = 1.5) -> torch.Tensor:
    return TF.adjust_brightness(x, float(factor)).clamp(0, 1)


@per_image
def contrast(x: torch.Tensor, factor: float = 1.5) -> torch.Tensor:
    return TF.adjust_contrast(x, float(factor)).clamp(0, 1)


@per_image
def saturation(x: torch.Tensor, factor: float = 1.5) -> torch.Tensor:
    return TF.adjust_saturation(x, float(factor)).clamp(0, 1)


@per_image
def hue(x: torch.Tensor, shift: float = 0.1) -> torch.Tensor:
    """Shift the hue by ``shift`` turns (in [-0.5, 0.5])."""
    return TF.adjust_hue(x, float(shift)).clamp(0, 1)


@per_image
def sharpness(x: torch.Tensor, factor: float = 1.5) -> torch.Tensor:
    return TF.adjust_sharpness(x, float(factor)).clamp(0, 1)


@per_image
def grayscale(x: torch.Tensor) -> torch.Tensor:
    return TF.rgb_to_grayscale(x, num_output_channels=3)


@per_image
def solarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return torch.where(x >= threshold, 1.0 - x, x)


@per_image
def gaussian_blur(x: torch.Tensor, kernel_size: int = 3, sigma: float | None = None) -> torch.Tensor:
    """Gaussian blur with an odd ``kernel_size``; sigma defaults to torchvision's rule for that size."""
    k = int(kernel_size) | 1
    if sigma is None:
        sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    return TF.gaussian_blur(x, [k, k], [float(sigma), float(sigma)])


def gaussian_noise(x, std: float = 0.05, generator: torch.Generator | None = None):
    def one(im):
        noise = torch.randn(im.shape, generator=generator, device="cpu").to(im.device, im.dtype)
        return (im + std * noise).clamp(0, 1)

    return per_image(one)(x)


@per_image
def text_overlay(x: torch.Tensor, text: str = "inria", fraction: float = 0.1) -> torch.Tensor:
    """Draw ``text`` in white with a black outline across the lower part, covering ~``fraction`` of the height."""
    from PIL import ImageDraw, ImageFont

    outs = []
    for im in x:
        pil = to_pil(im)
        h = pil.height
        size = max(8, int(h * fraction))
        try:
            font = ImageFont.load_default(size=size)
        except TypeError:  # old Pillow
            font = ImageFont.load_default()
        draw = ImageDraw.Draw(pil)
        draw.text((max(1, pil.width // 20), int(h * 0.7)), text, fill=(255, 255, 255), font=font,
                  stroke_width=max(1, size // 12), stroke_fill=(0, 0, 0))
        outs.append(from_pil(pil, device=im.device))
    return torch.stack(outs).to(x.dtype)


def color_jitter(x: torch.Tensor, strength: float = 0.3, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, contrast and saturation factors in [1-s, 1+s], one draw per image (DeiT III uses 0.3)."""
    out = []
    for im in as_list(x):
        b, c, s = (1 + strength * (2 * torch.rand(3, generator=generator) - 1)).tolist()
        im = TF.adjust_brightness(im, b)
        im = TF.adjust_contrast(im, c)
        im = TF.adjust_saturation(im, s)
        out.append(im.clamp(0, 1))
    return stack_if_same(out) if not isinstance(x, torch.Tensor) else torch.stack(out)


def random_resized_crop(x: torch.Tensor, size: tuple[int, int], scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's RandomResizedCrop, one draw per image, on a batch."""
    out = []
    for im in as_list(x):
        h, w = im.shape[-2:]
        area = h * w
        for _ in range(10):
            target = area * float(torch.empty(()).uniform_(*scale, generator=generator))
            logr = torch.empty(()).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator)
            ar = math.exp(float(logr))
            cw, ch = int(round(math.sqrt(target * ar))), int(round(math.sqrt(target / ar)))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
                left = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
                break
        else:
            ch, cw, top, left = h, w, 0, 0
        crop = im[:, top:top + ch, left:left + cw].unsqueeze(0)
        out.append(F.interpolate(crop, size=size, mode="bicubic", align_corners=False, antialias=True)[0].clamp(0, 1))
    return torch.stack(out)


def padded_random_crop(x, padding: int = 4, generator: torch.Generator | None = None):
    """DeiT III's "simple random crop": reflect-pad by ``padding`` pixels, then a random window of the
    original size, one draw per image (torchvision's ``RandomCrop(size, padding, padding_mode='reflect')``).

    Reflect padding needs ``padding < side``: it is capped at ``side - 1`` (a 1-pixel side comes back
    unchanged). Draws every window's top (N values), then every left, from ``generator``.
    """
    if not (isinstance(x, torch.Tensor) and x.dim() == 4):
        return stack_if_same([padded_random_crop(im.unsqueeze(0), padding, generator)[0] for im in as_list(x)])
    if padding < 0:
        raise ValueError(f"padding {padding} must be >= 0")
    n, _, h, w = x.shape
    p = min(int(padding), h - 1, w - 1)
    if p <= 0 or n == 0:
        return x
    padded = F.pad(x, (p, p, p, p), mode="reflect")
    tops = torch.randint(0, 2 * p + 1, (n,), generator=generator).tolist()
    lefts = torch.randint(0, 2 * p + 1, (n,), generator=generator).tolist()
    return torch.stack([padded[i, :, t:t + h, l:l + w] for i, (t, l) in enumerate(zip(tops, lefts))])


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "replicate") -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (N, C, H, W) on the bottom/right to multiples of ``multiple``; returns (padded, (H, W))."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode=mode if min(h, w) > 1 or mode != "reflect" else "replicate")
    return x, (h, w)


def square_batch(images, side: int, where: str = "images") -> torch.Tensor:
    """(N, 3, side, side) float32 from a (N, C, H, W) / (C, H, W) tensor or array or a non-empty list of (C, H, W).

    The input contract of the square-input Backbones: 1 or 3 channels (gray is
    repeated), uint8 divided by 255, other sizes resized; a one-line
    ``InriaError`` naming ``where`` and the image for anything else, NaN or inf.
    """
    import numpy as np

    from ..errors import InriaError

    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if isinstance(images, torch.Tensor):
        images = list(images) if images.dim() == 4 else [images]
    if not isinstance(images, (list, tuple)) or not images:
        raise InriaError(f"expected images (N, 3, H, W) or a non-empty list of (3, H, W), got "
                         f"{type(images).__name__}", where=where)
    out = []
    for i, im in enumerate(images):
        im = torch.as_tensor(im)
        if im.dim() != 3 or im.shape[0] not in (1, 3) or min(im.shape[1:]) < 1:
            raise InriaError(f"image {i} has shape {tuple(im.shape)}; expected (3 or 1, H, W)", where=where,
                             hint="images are float tensors (N, 3, H, W) in [0, 1]")
        im = (im.float() / 255 if im.dtype == torch.uint8 else im.float()).expand(3, -1, -1)
        out.append(resize(im[None], size=(side, side)) if im.shape[1:] != (side, side) else im[None])
    batch = torch.cat(out)
    if not torch.isfinite(batch).all():
        raise InriaError("images contain NaN or inf", where=where)
    return batch
