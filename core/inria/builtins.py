"""Built-in recipe steps (``run: images``, ``vectors``, ``attack``, ``select``, ``knn``, ``quality``, ``report``).

They are declared like plugin implementations (a Config and verbs with typed
inputs and outputs) so the runner validates them the same way, and ``inria
describe images`` prints their options as it does an implementation's.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Optional

import numpy as np

from .artifacts import Grouped
from .config import doc
from .data.images import SAMPLE_PHOTOS
from .errors import InriaError
from .interfaces.base import Component, verb


@dataclasses.dataclass
class ImagesConfig:
    source: str = doc("samples", f"a folder of JPEG/PNG/WebP/TIFF images, 'samples' (the {len(SAMPLE_PHOTOS)} "
                                 "photographs scikit-image ships, of mixed sizes unless `size` is set) "
                                 "or 'digits' (scikit-learn's 1797 handwritten digits, 8x8, with labels)")
    labels: str = doc("none", "for a folder source: 'none' (images only) or 'folders' (root/<class>/<image>: "
                              "label i = i-th class folder name in sorted order, as torchvision's ImageFolder; "
                              "class names go to classes.json)")
    size: Optional[int] = doc(None, "square side: resize the short side and centre-crop (digits: resize)")
    limit: Optional[int] = doc(None, f"keep at most this many images (the first ones: samples has {len(SAMPLE_PHOTOS)}, "
                                     "digits 1797, or 1437 / 360 for split train / test)")
    names: Optional[list[str]] = doc(None, "for source 'samples': which photographs, by name: "
                                           + ", ".join(SAMPLE_PHOTOS))
    split: str = doc("all", "for source 'digits': train, test or all (a fixed stratified 80/20 split)")

    def validate(self):
        if self.size is not None and not 1 <= self.size <= 8192:
            raise ValueError(f"size {self.size} is outside 1..8192")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit {self.limit} must be >= 1")
        if self.labels not in ("none", "folders"):
            raise ValueError(f"labels '{self.labels}' is not one of: none, folders")
        if self.labels == "folders" and self.source in ("samples", "digits"):
            raise ValueError(f"labels: folders needs a folder source, not '{self.source}'")


class Images(Component):
    """Load images (any mode -> RGB float in [0, 1]); corrupt files in a folder are skipped with a warning.

    With ``labels: folders`` the source is ``root/<class>/<image>`` and the step
    also outputs int64 labels (like ``digits``), writes ``classes.json`` (the
    class names in label order) and reports ``classes`` and ``images``.
    """

    interface = "builtin"
    name = "images"
    Config = ImagesConfig

    @verb(outputs={"images": "images", "labels": "labels?", "metrics": "metrics?"})
    def run(self, ctx):
        from .data import images as data

        c = self.config
        if c.source == "samples":
            imgs, _ = data.samples(c.names, size=c.size, limit=c.limit)
            return {"images": imgs}
        if c.source == "digits":
            x, y = data.digits(c.split, size=c.size)
            if c.limit:
                x, y = x[: c.limit], y[: c.limit]
            return {"images": x, "labels": y}
        out: dict = {}
        if c.labels == "folders":
            imgs, y, classes, _ = data.load_class_folders(c.source, limit=c.limit)
            if ctx.is_main:
                (ctx.out_dir / "classes.json").write_text(json.dumps(classes, indent=1))
            out = {"labels": y, "metrics": {"classes": len(classes), "images": len(imgs)}}
        else:
            imgs, _ = data.load_folder(c.source, limit=c.limit)
        if c.size:
            imgs = [data.center_square(t, c.size) for t in imgs]
        return {"images": imgs, **out}


@dataclasses.dataclass
class VectorsConfig:
    path: str = doc(help=".npy (memory-mapped), .fvecs, .bvecs or .ivecs file")
    limit: Optional[int] = doc(None, "keep the first rows only")


class Vectors(Component):
    """Load vectors from a file."""

    interface = "builtin"
    name = "vectors"
    Config = VectorsConfig

    @verb(outputs={"vectors": "vectors"})
    def run(self, ctx):
        from .data.vectors import load_vectors

        x = load_vectors(self.config.path)
        if self.config.limit:
            x = x[: self.config.limit]
        return {"vectors": np.asarray(x, dtype=np.float32)}


@dataclasses.dataclass
class AttackConfig:
    attacks: list[str] = doc(["none", "jpeg_50", "crop_0.5", "brightness_1.5"],
                             "attack names (see inria.ops.attacks): one group of images per attack")

    def validate(self):
        from .ops.attacks import parse

        if not self.attacks:
            raise ValueError("attacks: give at least one attack name")
        for a in self.attacks:
            try:
                parse(a)
            except InriaError as e:
                raise ValueError(f"attacks: {e}") from None


class Attack(Component):
    """Apply each attack to every image; downstream steps run once per attack."""

    interface = "builtin"
    name = "attack"
    Config = AttackConfig

    @verb(inputs={"images": "images"}, outputs={"images": "images"})
    def run(self, ctx, images):
        from .ops.attacks import apply

        return {"images": Grouped((a, apply(a, images)) for a in self.config.attacks)}


class Select(Component):
    """Keep the rows named by ``indices`` (a curator's selection) of images, labels and vectors."""

    interface = "builtin"
    name = "select"

    @verb(inputs={"indices": "indices", "images": "images?", "labels": "labels?", "vectors": "vectors?"},
          outputs={"images": "images?", "labels": "labels?", "vectors": "vectors?", "metrics": "metrics"})
    def run(self, ctx, indices, images=None, labels=None, vectors=None):
        from .ops.image import as_list, stack_if_same

        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        given = {k: v for k, v in (("images", images), ("labels", labels), ("vectors", vectors)) if v is not None}
        if not given:
            raise InriaError("select needs images, labels or vectors to select from")
        out: dict = {"metrics": {"selected": int(len(idx))}}
        for key, value in given.items():
            n = len(value)
            if len(idx) and (idx.min() < 0 or idx.max() >= n):
                raise InriaError(f"indices go up to {int(idx.max())} but {key} has {n} rows")
            if key == "images":
                rows = as_list(value)
                out[key] = stack_if_same([rows[i] for i in idx])
            else:
                out[key] = np.asarray(value)[idx]
        return out


@dataclasses.dataclass
class KnnConfig:
    k: int = doc(10, "neighbours that vote")

    def validate(self):
        if self.k < 1:
            raise ValueError(f"k {self.k} must be >= 1")


class Knn(Component):
    """k-NN classification accuracy from an index's neighbour ids (majority vote of their labels).

    With no ``query_labels`` the queries are the database itself: each query's
    own id is dropped from its neighbours (leave-one-out).
    """

    interface = "builtin"
    name = "knn"
    Config = KnnConfig

    @verb(inputs={"neighbors": "indices", "labels": "labels", "query_labels": "labels?"}, outputs={"metrics": "metrics"})
    def run(self, ctx, neighbors, labels, query_labels=None):
        nn = np.asarray(neighbors, dtype=np.int64)
        labels = np.asarray(labels, dtype=np.int64)
        if nn.ndim != 2:
            raise InriaError(f"neighbors must be (queries, k) ids, got shape {nn.shape}")
        loo = query_labels is None
        truth = labels if loo else np.asarray(query_labels, dtype=np.int64)
        if len(truth) != len(nn):
            raise InriaError(f"{len(nn)} queries but {len(truth)} query labels")
        if nn.max(initial=-1) >= len(labels):
            raise InriaError(f"neighbour id {int(nn.max())} is beyond the {len(labels)} labels")
        correct = 0
        for q, row in enumerate(nn):
            row = row[(row >= 0) & ((row != q) if loo else True)][: self.config.k]
            if len(row):
                correct += int(np.bincount(labels[row]).argmax() == truth[q])
        k = self.config.k
        return {"metrics": {f"knn{k}_accuracy": correct / max(len(nn), 1), "queries": int(len(nn))}}


class Quality(Component):
    """PSNR, SSIM and MS-SSIM of decoded images against the originals (and bpp when the bitstreams are wired).

    Wire ``reference`` to the images a codec compressed and ``decoded`` to its
    ``decompress`` step (or any step that outputs images of the same sizes,
    e.g. a watermarker's ``embed``); ``bitstreams`` (optional) adds bpp from
    the real bytes. MS-SSIM needs every image's short side >= 161 pixels and
    is left out otherwise. When ``decoded`` comes per attack, the step runs
    once per attack.
    """

    interface = "builtin"
    name = "quality"

    @verb(inputs={"reference": "images", "decoded": "images", "bitstreams": "bitstreams?"},
          outputs={"metrics": "metrics"})
    def run(self, ctx, reference, decoded, bitstreams=None):
        from .eval.metrics import bpp, image_quality, psnr
        from .ops.image import as_list

        ref, dec = as_list(reference), as_list(decoded)
        if len(ref) != len(dec):
            raise InriaError(f"{len(dec)} decoded images against {len(ref)} reference images",
                             where="inputs.decoded", hint="wire the images the codec compressed as 'reference'")
        for i, (a, b) in enumerate(zip(ref, dec)):
            if tuple(a.shape) != tuple(b.shape):
                raise InriaError(f"image {i}: decoded {tuple(b.shape)} but the reference is {tuple(a.shape)}",
                                 where="inputs.decoded", hint="both inputs need the same image sizes")
        if not ref:
            raise InriaError("no images to compare", where="inputs.reference")
        out = {**image_quality(ref, dec), "psnr_per_image": [float(v) for v in psnr(ref, dec)]}
        if bitstreams is not None:
            if len(bitstreams) != len(ref):
                raise InriaError(f"{len(bitstreams)} bitstreams against {len(ref)} images", where="inputs.bitstreams")
            rates = [bpp(s, im) for s, im in zip(bitstreams, ref)]
            out = {"bpp": float(np.mean(rates)), **out, "bpp_per_image": rates}
        out["images"] = len(ref)
        return {"metrics": out}


@dataclasses.dataclass
class ReportConfig:
    title: Optional[str] = doc(None, "report title (default: the recipe name)")


class Report(Component):
    """Write report.html now (the runner also writes it when the run ends)."""

    interface = "builtin"
    name = "report"
    Config = ReportConfig

    @verb(outputs={"metrics": "metrics"})
    def run(self, ctx):
        from .report.html import write_report

        path = write_report(ctx.run_dir, title=self.config.title)
        return {"metrics": {"report": str(path)}}


BUILTINS = {cls.name: cls for cls in (Images, Vectors, Attack, Select, Knn, Quality, Report)}
