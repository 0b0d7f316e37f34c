"""Images from folders and from data that packages ship.

Every image leaves here as a float (3, H, W) tensor in [0, 1], RGB, whatever
it was on disk: RGBA is composited on white, palette and grayscale images
are expanded, 16-bit and float images are rescaled to their full range.

A file that cannot be decoded among good ones is **skipped with a warning
naming it**; a folder with no readable image is an error. An ImageNet-style
folder (``root/<class>/<image>``) gives labels too (:func:`load_class_folders`,
numbered like torchvision's ``ImageFolder``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import InriaError

EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}

#: scikit-image's bundled photographs, in a fixed order (no download needed).
#: Near-duplicates (the stereo pair) are adjacent so splits can keep them together.
SAMPLE_PHOTOS = [
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
    "motorcycle_left", "motorcycle_right", "retina", "camera", "moon", "coins", "clock", "grass",
    "gravel", "brick",
]


def pil_to_tensor(img, where: str = "image"):
    """Any Pillow image mode -> float (3, H, W) RGB tensor in [0, 1]."""
    import torch
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        top = 65535.0 if mode.startswith("I;16") or hi > 255 else 255.0
        arr = np.clip(arr / top, 0, 1) if mode != "F" else (arr - lo) / max(hi - lo, 1e-12)
        arr = np.repeat(arr[..., None], 3, axis=2)
    else:
        if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(bg, rgba)
        arr = np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InriaError("empty image", where=where)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float()


def array_to_tensor(arr: np.ndarray):
    import torch

    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    elif arr.dtype == np.uint8:
        arr = arr / 255.0
    elif arr.dtype == np.uint16:
        arr = arr / 65535.0
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 4:
        a = arr[..., 3:4]
        arr = arr[..., :3] * a + (1 - a)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().clamp(0, 1)


def _require_folder(folder: Path, hint: str) -> None:
    if not folder.exists():
        raise InriaError("image folder does not exist", where=str(folder))
    if not folder.is_dir():
        raise InriaError("not a folder", where=str(folder), hint=hint)


def _image_files(folder: Path) -> list[Path]:
    """The image files below ``folder`` (recursive, sorted); errors name the folder."""
    _require_folder(folder, "give a folder of JPEG/PNG/WebP/TIFF images")
    try:
        return sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    except PermissionError as e:
        raise InriaError(f"unreadable folder ({e.strerror})", where=str(folder)) from None


def _decode(files: list[Path], root: Path, limit: int | None) -> tuple[list, list[str]]:
    """Decode ``files`` in order (at most ``limit``); unreadable ones are skipped with a warning."""
    from PIL import Image, UnidentifiedImageError

    images, names = [], []
    for path in files:
        if limit is not None and len(images) >= limit:
            break
        try:
            with Image.open(path) as img:
                img.load()
                images.append(pil_to_tensor(img, where=str(path)))
                names.append(str(path.relative_to(root)))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            warnings.warn(f"{path}: skipped, not a readable image ({type(e).__name__})", stacklevel=3)
    return images, names


def load_folder(folder: str | Path, limit: int | None = None) -> tuple[list, list[str]]:
    """All images in ``folder`` (sorted by name, recursive); returns (tensors, names)."""
    folder = Path(folder)
    images, names = _decode(_image_files(folder), folder, limit)
    if not images:
        raise InriaError(f"no readable image ({', '.join(sorted(EXTENSIONS))})", where=str(folder))
    return images, names


def class_folders(folder: str | Path) -> dict[str, list[Path]]:
    """The classes of an ImageNet-style ``folder`` (``root/<class>/**/<image>``): name -> image files.

    Classes come sorted by name, each with its image files (recursive, sorted).
    Label ``i`` is the ``i``-th name in sorted order, as torchvision's
    ``ImageFolder`` numbers classes. Hidden sub-folders (``.name``) are not
    classes. Errors (one line naming the folder): no sub-folder, image files
    beside the class folders, a class folder holding no image file (an error
    rather than a warning: dropping it would silently shift the label ids).
    """
    folder = Path(folder)
    _require_folder(folder, "give a folder with one sub-folder per class")
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except PermissionError as e:
        raise InriaError(f"unreadable folder ({e.strerror})", where=str(folder)) from None
    classes = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    loose = [p.name for p in entries if p.is_file() and p.suffix.lower() in EXTENSIONS]
    if not classes:
        raise InriaError("no class sub-folder (labels: folders reads root/<class>/<image>)", where=str(folder),
                         hint="set labels: none to load the images without labels" if loose else None)
    if loose:
        raise InriaError(f"{len(loose)} image file(s) beside the class folders (e.g. '{loose[0]}')", where=str(folder),
                         hint="move them into a class folder, or set labels: none")
    found = {}
    for c in classes:
        found[c.name] = _image_files(c)
        if not found[c.name]:
            raise InriaError(f"class folder '{c.name}' holds no image ({', '.join(sorted(EXTENSIONS))})",
                             where=str(c), hint="remove the empty class folder or add its images")
    return found


def load_class_folders(folder: str | Path, limit: int | None = None) -> tuple[list, "np.ndarray", list[str], list[str]]:
    """Images and int64 labels from ``root/<class>/**/<image>`` (see :func:`class_folders`).

    Returns (tensors, labels, class names in label order, file names relative
    to ``folder``). Images come class by class, each class's files sorted by
    name; ``limit`` keeps the first ``limit`` of that order (so a small limit
    may hold the first classes only). A class folder none of whose files
    decodes is an error.
    """
    folder = Path(folder)
    classes = class_folders(folder)
    images, labels, names = [], [], []
    for label, (name, files) in enumerate(classes.items()):
        left = None if limit is None else limit - len(images)
        if left is not None and left <= 0:
            break
        imgs, nms = _decode(files, folder, left)
        if not imgs:
            raise InriaError(f"class folder '{name}' has no readable image", where=str(folder / name))
        images += imgs
        names += nms
        labels += [label] * len(imgs)
    return images, np.asarray(labels, dtype=np.int64), list(classes), names


def sample_photo(name: str) -> np.ndarray:
    import skimage.data as data

    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _ = data.stereo_motorcycle()
        return left if name.endswith("left") else right
    if name not in SAMPLE_PHOTOS:
        from ..errors import did_you_mean

        raise InriaError(f"unknown sample photo '{name}'", hint=did_you_mean(name, SAMPLE_PHOTOS))
    return getattr(data, name)()


def center_square(x, size: int):
    """Resize the short side to ``size`` and centre-crop a square."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(x[None], size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)[0]
    top, left = (nh - size) // 2, (nw - size) // 2
    return x[:, top:top + size, left:left + size].clamp(0, 1)


def samples(names: list[str] | None = None, size: int | None = None, limit: int | None = None):
    """scikit-image's bundled photographs as tensors (``size``: square centre crop)."""
    names = list(names or SAMPLE_PHOTOS)[: limit or None]
    out = []
    for n in names:
        t = array_to_tensor(sample_photo(n))
        out.append(center_square(t, size) if size else t)
    return out, names


def digits(split: str = "all", size: int | None = None, seed: int = 0, test_fraction: float = 0.2):
    """scikit-learn's 1797 handwritten digits (8x8) as RGB tensors and int64 labels.

    ``split``: 'train', 'test' or 'all'; the split is a fixed stratified
    permutation (``seed``), the same for every plugin that asks for it.
    """
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if split not in ("train", "test", "all"):
        raise InriaError(f"unknown split '{split}'", where="split", hint="accepted: train, test, all")
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None].repeat(1, 3, 1, 1)
    y = d.target.astype(np.int64)
    idx = np.arange(len(y))
    if split != "all":
        tr, te = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=y)
        idx = np.sort(tr if split == "train" else te)
    x, y = x[idx], y[idx]
    if size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x, y
