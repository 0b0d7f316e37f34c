"""``faiss``: the Index interface on any Faiss index, CPU or GPU.

Results follow Faiss: ``search`` returns ``(D, I)`` of shape (nq, k);
``D`` holds squared L2 distances (``l2``, ascending) or inner products
(``ip`` and ``cosine``, descending; for cosine they are cosine
similarities). Where fewer than k neighbours exist (k > ntotal, or an
approximate index that found fewer), the missing slots hold id ``-1`` and
distance ``+inf`` (l2) or ``-inf`` (ip, cosine), never Faiss's float max.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from inria.config import build as build_config
from inria.errors import InriaError
from inria.interfaces import Index, verb

from . import factory as fx
from . import gpu, ondisk, params, storage, tuning
from .config import EvaluateParams, FaissConfig, TuneParams
from .evaluation import exact_knn, ground_truth as as_ground_truth, serialized_bytes, timed
from .vectors import SayOnce, as_array, as_ids, batches, check_dim, normalized, to_float32

DIST = "inria-plugin-faiss"
#: bumped when the model directory layout changes in a way older plugins cannot read
INDEX_FORMAT = 1


@lru_cache(maxsize=1)
def plugin_version() -> str:
    import importlib.metadata as md

    try:
        return md.version(DIST)
    except md.PackageNotFoundError:
        from . import __version__

        return __version__


@lru_cache(maxsize=1)
def _builds_warning() -> str | None:
    builds = gpu.installed_builds()
    if len(builds) > 1:
        return (f"{' and '.join(builds)} are installed together; they ship the same 'faiss' module and overwrite "
                f"each other. Keep one: pip uninstall -y {' '.join(b.split()[0] for b in builds)} && "
                f"pip install <the one you want>")
    return None


class FaissIndex(Index):
    """Any Faiss index from an index_factory string, on CPU or GPU: ids, tuning, mmap, on-disk IVF."""

    name = "faiss"
    Config = FaissConfig

    def __init__(self, config: FaissConfig | None = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        self._say = SayOnce()
        self._index = None            # the live index: on the CPU, or on GPUs when self._gpu
        self._gpu = False
        self._cpu_copy = None         # CPU clone of a GPU index, for calls the GPU cannot serve
        self._native_ids = False      # add_with_ids works without an IDMap (IVF)
        self._readonly: str | None = None
        self._extra: dict[str, Any] = {}
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._ivfdata: Path | None = None
        self._dir: Path | None = None
        self._dirty = False           # changed since saved to / loaded from self._dir
        if self.config.threads:
            faiss.omp_set_num_threads(self.config.threads)
        gpu.resolve(self.config.device)  # device: cuda without a GPU build fails here, not at the first add
        warning = _builds_warning()
        if warning:
            self._say("builds", warning)
        if self.config.dim is not None:
            self._create(self.config.dim)

    # -- state ------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    @property
    def d(self) -> int | None:
        return None if self._index is None else int(self._index.d)

    @property
    def is_trained(self) -> bool:
        return self._index is not None and bool(self._index.is_trained)

    @property
    def on_gpu(self) -> bool:
        return self._gpu

    @property
    def faiss_index(self):
        """The live faiss index (for calls this class does not wrap)."""
        return self._index

    @property
    def operating_point(self) -> dict | None:
        return self._extra.get("operating_point")

    def __repr__(self) -> str:
        where = "gpu" if self._gpu else "cpu"
        return (f"FaissIndex('{self.config.factory}', metric={self.config.metric}, d={self.d}, "
                f"ntotal={self.ntotal}, {where})")

    def _create(self, d: int) -> None:
        c = self.config
        index = fx.create(c.factory, c.metric, d)
        if c.ondisk and not fx.is_ivf(index):
            raise InriaError(f"ondisk: true needs an IVF factory string, not '{c.factory}' ({fx.type_name(index)})",
                             where="ondisk")
        self._native_ids = fx.has_native_ids(index)
        params.apply(index, c.search_params, c.factory)
        self._index = index
        self.config.dim = int(d)
        self._maybe_to_gpu()

    def _maybe_to_gpu(self) -> None:
        c = self.config
        if gpu.resolve(c.device) != "cuda":
            return
        reason = gpu.cpu_only_reason(self._index, c.search_params, c.ondisk or ondisk.is_ondisk(self._index))
        if reason:
            self._say("gpu", f"staying on the CPU: {reason}")
            return
        self._index, self._gpu = gpu.try_to_gpus(self._index, c.multi_gpu, c.gpu_float16, self._say)
        if self._gpu:
            params.apply(self._index, c.search_params, c.factory)

    def _cpu_index(self):
        """The index on the CPU (a cached clone while the live one is on GPUs)."""
        if not self._gpu:
            return self._index
        if self._cpu_copy is None:
            self._cpu_copy = gpu.to_cpu(self._index)
        return self._cpu_copy

    def _changed(self) -> None:
        self._cpu_copy = None
        self._dirty = True

    def _check_writable(self, what: str) -> None:
        if self._readonly:
            raise InriaError(f"cannot {what}: {self._readonly}", where=str(self._dir) if self._dir else None,
                             hint="load with mmap: false to modify the index")

    def _check_searchable(self, what: str = "search") -> None:
        if self._index is None:
            raise InriaError(f"cannot {what} an empty index: nothing was added yet",
                             hint="call train()/add(), or build it with the build verb")
        if not self._index.is_trained:
            raise InriaError(f"cannot {what}: the '{self.config.factory}' index is not trained",
                             hint="call train() then add(), or use the build verb")
        if self._index.ntotal == 0:
            raise InriaError(f"cannot {what} an empty index (ntotal=0)", hint="add vectors first")

    # -- preparing inputs ----------------------------------------------------------
    def _array(self, x: Any, where: str) -> np.ndarray:
        x = as_array(x, where)
        if self._index is None:
            self._create(x.shape[1])
        check_dim(x, self.d, where)
        return x

    def _prep(self, x: np.ndarray, where: str, offset: int = 0) -> np.ndarray:
        x = to_float32(x, where, self._say, offset)
        if self.config.metric == "cosine":
            x = normalized(x)
        return x

    def _progress(self, iterable, total: int, desc: str, ctx=None):
        if ctx is not None:
            return ctx.progress(iterable, desc=desc, total=total)
        from tqdm.auto import tqdm

        disable = total <= 1 or os.environ.get("INRIA_PROGRESS", "1") == "0"
        return tqdm(iterable, desc=f"faiss: {desc}", total=total, disable=disable, leave=False)

    # -- Index interface ------------------------------------------------------------
    def train(self, x: Any, *, ctx=None) -> None:
        """Train on ``x`` (or a random sample of ``train_size`` rows); a no-op for indexes needing none."""
        self._check_writable("train")
        x = self._array(x, "train")
        if self._index.is_trained:
            return
        n, size = len(x), self.config.train_size
        if size is not None and n > size:
            rows = np.sort(np.random.default_rng(self.config.seed).choice(n, size, replace=False))
            sample = x[rows]
        else:
            rows, sample = None, x
        try:
            sample = self._prep(sample, "train")
        except InriaError as e:
            if rows is None:
                raise
            raise InriaError(f"{e} (row of the {size}-vector training sample)") from None
        try:
            self._index.train(sample)
        except RuntimeError as e:
            raise InriaError(f"cannot train '{self.config.factory}' on {len(sample)} vectors ({fx.faiss_reason(e)})",
                             where="train") from None
        self._changed()

    def add(self, x: Any, ids: Any = None, *, ctx=None, ondisk_dir: str | Path | None = None) -> None:
        """Add ``x`` (any array, a memory-mapped .npy or its path) in batches, with optional int64 ids."""
        self._check_writable("add")
        x = self._array(x, "vectors")
        n = len(x)
        ids = as_ids(ids, n)
        if not self._index.is_trained:
            raise InriaError(f"cannot add: the '{self.config.factory}' index is not trained",
                             hint="call train() first, or use the build verb")
        if n == 0:
            return
        ids = self._ids_for(ids, n)
        c = self.config
        bs = c.add_batch_size
        nb = -(-n // bs)
        if c.ondisk and self._index.ntotal == 0 and not ondisk.is_ondisk(self._index):
            target = self._ondisk_target(ondisk_dir)

            def chunks():
                for i0, i1 in self._progress(batches(n, bs), nb, "add (on disk)", ctx):
                    yield self._prep(x[i0:i1], "vectors", i0), ids[i0:i1]

            ondisk.build(self._index, chunks(), target)
            self._ivfdata = target
        else:
            for i0, i1 in self._progress(batches(n, bs), nb, "add", ctx):
                xb = self._prep(x[i0:i1], "vectors", i0)
                try:
                    if ids is None:
                        self._index.add(xb)
                    else:
                        self._index.add_with_ids(xb, ids[i0:i1])
                except RuntimeError as e:
                    raise InriaError(f"cannot add to {fx.type_name(self._cpu_index())} ({fx.faiss_reason(e)})",
                                     where="vectors") from None
        self._changed()

    def _ids_for(self, ids: np.ndarray | None, n: int) -> np.ndarray | None:
        """Ids to pass to faiss (None: plain add); wraps the index in IDMap2 where needed."""
        mode = self._extra.get("ids")
        filled = self._index.ntotal > 0
        if ids is not None:
            if filled and mode != "user":
                raise InriaError("this index holds vectors added without ids; ids cannot be mixed in", where="ids",
                                 hint="add every vector with ids, or none")
            if not self._native_ids and not fx.is_idmap(self._index):
                # IDMap2 (not IDMap): keeps reconstruct() by id working
                self._index = faiss.IndexIDMap2(self._index)
            self._extra["ids"] = "user"
            return ids
        if filled and mode == "user":
            raise InriaError("this index holds vectors added with ids; pass ids for these too", where="ids")
        self._extra["ids"] = "sequential"
        if fx.is_idmap(self._index) or (self.config.ondisk and not ondisk.is_ondisk(self._index)):
            start = self._index.ntotal
            return np.arange(start, start + n, dtype=np.int64)
        return None

    def _ondisk_target(self, ondisk_dir) -> Path:
        if ondisk_dir is None:
            if self._workdir is None:
                self._workdir = tempfile.TemporaryDirectory(prefix="inria-faiss-")
            ondisk_dir = self._workdir.name
        ondisk_dir = Path(ondisk_dir)
        ondisk_dir.mkdir(parents=True, exist_ok=True)
        return ondisk_dir / storage.IVFDATA_FILE

    def search(self, q: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(D, I), each (nq, k); missing neighbours: id -1, distance +inf (l2) / -inf (ip, cosine)."""
        self._check_searchable()
        k = self._k(k)
        q = self._prep(self._array(q, "queries"), "queries")
        index = self._index
        if self._gpu and k > gpu.GPU_MAX_K:
            self._say("gpu-k", f"k={k} is above the GPU limit of {gpu.GPU_MAX_K}: searching on the CPU")
            index = self._cpu_index()
        D, I = index.search(q, k)
        missing = I < 0
        if missing.any():
            D[missing] = np.inf if self.config.metric == "l2" else -np.inf
        return D, I

    def _k(self, k: Any) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InriaError(f"k={k!r} is not a positive integer", where="k")
        k = int(k)
        if k > self.ntotal:
            self._say("k>ntotal", f"k={k} is larger than the {self.ntotal} indexed vectors: the missing neighbours "
                                  f"have id -1 and distance {'+inf' if self.config.metric == 'l2' else '-inf'}")
        return k

    def range_search(self, q: Any, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lims, D, I) as Faiss: results of query i are D[lims[i]:lims[i+1]].

        l2: squared distances < radius; ip / cosine: similarities > radius.
        """
        self._check_searchable("range_search")
        q = self._prep(self._array(q, "queries"), "queries")
        index = self._cpu_index()
        try:
            return index.range_search(q, float(radius))
        except RuntimeError as e:
            raise InriaError(f"{fx.type_name(index)} does not support range search ({fx.faiss_reason(e)})",
                             where="range_search", hint="use 'Flat', an 'IVF...' or an 'HNSW...' factory") from None

    def remove_ids(self, ids: Any) -> int:
        """Remove vectors by id; returns how many were removed."""
        self._check_writable("remove ids")
        if self._index is None:
            return 0
        ids = as_ids(np.atleast_1d(np.asarray(ids)), len(np.atleast_1d(np.asarray(ids))))
        index = self._cpu_index()
        try:
            removed = int(index.remove_ids(ids))
        except RuntimeError as e:
            raise InriaError(
                f"{fx.type_name(index)} cannot remove vectors ({fx.faiss_reason(e)})", where="remove_ids",
                hint="Faiss cannot remove from HNSW, NSG or Refine indexes: rebuild without those ids, "
                     "or use 'Flat', 'IVF...', 'PQ...' or 'SQ...'") from None
        if self._gpu and removed:
            # GPU indexes cannot remove: removed on the CPU copy, which goes back to the GPUs
            self._index = gpu.to_gpus(index, self.config.multi_gpu, self.config.gpu_float16)
            params.apply(self._index, self.config.search_params, self.config.factory)
        if removed:
            self._changed()
            self._cpu_copy = index if self._gpu else None
        return removed

    def reconstruct(self, ids: Any) -> np.ndarray:
        """Stored vectors (decoded, so approximate for compressed codes) by id, shape (n, d)."""
        self._check_searchable("reconstruct")
        arr = np.atleast_1d(np.asarray(ids))
        ids = as_ids(arr, len(arr))
        index = self._cpu_index()
        ivf = faiss.try_extract_index_ivf(index)
        try:
            if ivf is not None and not fx.is_idmap(index) and ivf.direct_map.type == faiss.DirectMap.NoMap:
                # a hash table works with any ids (the array form needs sequential ones)
                ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            return index.reconstruct_batch(ids)
        except RuntimeError as e:
            reason = fx.faiss_reason(e)
            if "not found" in reason or "invalid key" in reason.lower() or "out of bounds" in reason:
                raise InriaError(f"an id is not in the index ({reason})", where="ids") from None
            raise InriaError(f"{fx.type_name(index)} cannot reconstruct vectors ({reason})", where="reconstruct") from None

    def set_search_params(self, values: dict | str) -> None:
        """Set search parameters (``{'nprobe': 16}`` or ``'nprobe=16'``) and keep them in the config."""
        values = params.parse(values) if isinstance(values, str) else dict(values)
        if self._index is not None:
            params.apply(self._index, values, self.config.factory)
            if self._cpu_copy is not None:
                params.apply(self._cpu_copy, values, self.config.factory)
        self.config.search_params = {**self.config.search_params, **values}

    # -- model directories ------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """card.yaml + index.faiss (+ index.ivfdata for on-disk IVF); GPU indexes are copied back first."""
        from inria.modeldir import write_card

        if self._index is None:
            raise InriaError("nothing to save: the index was never created", hint="train or add vectors first")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        index = self._cpu_index()
        extra: dict[str, Any] = {k: v for k, v in self._extra.items()}
        extra.update({
            "format": INDEX_FORMAT,
            "plugin_version": plugin_version(),
            "faiss_version": faiss.__version__,
            "index_type": fx.type_name(index),
            "is_ivf": fx.is_ivf(index),
            "d": int(index.d),
            "ntotal": int(index.ntotal),
        })
        if ondisk.is_ondisk(index):
            if self._ivfdata is None:
                raise InriaError("on-disk lists of unknown location", where="save")
            target = storage.copy_ivfdata(self._ivfdata, path)
            extra.update({"ivfdata_file": storage.IVFDATA_FILE, "ivfdata_bytes": target.stat().st_size})
        extra.update(storage.write(index, path))
        write_card(path, self, **extra)
        self._dir, self._dirty = path, False
        return path

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "FaissIndex":
        """Open a directory written by :meth:`save`; ``overrides`` replace config fields (mmap, device, search_params...)."""
        from inria.modeldir import read_card

        path = Path(path)
        card = read_card(path, expect=cls)
        extra = dict(card.get("extra") or {})
        _check_card(card, extra, path)
        values = dict(card["config"])
        values.update(overrides)
        config = build_config(cls.Config, values, where=f"{path / 'card.yaml'}:config")
        obj = cls(dataclasses.replace(config, dim=None))
        obj.config = config
        c = config
        index = storage.read(path, extra, mmap=c.mmap)
        obj._dir = path
        obj._index = index
        obj._native_ids = fx.has_native_ids(index)
        obj._extra = {k: extra[k] for k in ("ids", "build_seconds", "operating_point") if k in extra}
        if extra.get("ivfdata_file"):
            obj._ivfdata = path / extra["ivfdata_file"]
        if c.mmap and not extra.get("ivfdata_file"):
            obj._readonly = "the index is memory-mapped (mmap: true) and read-only"
        params.apply(index, c.search_params, c.factory)
        obj._maybe_to_gpu()
        return obj

    # -- tuning and evaluation --------------------------------------------------------------
    def _gt_nn(self, queries: np.ndarray, ground_truth: Any, base: Any, ids: Any) -> np.ndarray:
        """Exact nearest neighbour of each (prepared) query: from ``ground_truth`` or brute force on ``base``."""
        if ground_truth is not None:
            return as_ground_truth(ground_truth, len(queries))
        if base is None:
            raise InriaError("exact search needs the base vectors or a ground truth", where="inputs",
                             hint="wire 'vectors' (the indexed vectors) or 'ground_truth' (nq, k) ids")
        base = self._array(base, "vectors")
        ids = as_ids(ids, len(base), "ids")
        _, I = exact_knn(queries, base, 1, self.config.metric, lambda b, i0: self._prep(b, "vectors", i0), ids=ids)
        return I

    def tune(self, queries: Any, ground_truth: Any = None, base: Any = None, ids: Any = None, *,
             target_recall: float = 0.9, k: int = 10, min_test_seconds: float = 0.0) -> dict:
        """Keep the fastest operating point with 1-recall@k >= target_recall; returns it (recorded in the card)."""
        self._check_searchable("tune")
        k = self._k(k)
        q = self._prep(self._array(queries, "queries"), "queries")
        gt = self._gt_nn(q, ground_truth, base, ids)
        points = tuning.explore(self._index, q, gt, k, min_test_seconds)
        best = tuning.fastest_meeting(points, target_recall, k)
        self.set_search_params(best["param"])
        self._extra["operating_point"] = {**best, "target_recall": float(target_recall), "k": k, "nq": len(q)}
        return self._extra["operating_point"]

    def evaluate(self, queries: Any, ground_truth: Any = None, base: Any = None, ids: Any = None, *,
                 ks: list[int] | tuple[int, ...] = (1, 10, 100), max_points: int = 12, plot_k: int = 10) -> dict:
        """recall@k (1-recall@k vs exact search), QPS, bytes per vector, build time, operating points."""
        self._check_searchable("evaluate")
        ks = sorted({self._k(k) for k in ks})
        raw = self._array(queries, "queries")
        q = self._prep(raw, "queries")
        gt = self._gt_nn(q, ground_truth, base, ids)
        from inria.eval.metrics import recall_at_k

        kmax = max(ks)
        (D, I), seconds = timed(lambda: self.search(raw, kmax))
        metrics: dict[str, Any] = {f"recall@{k}": recall_at_k(I, gt, k) for k in ks}
        metrics.update({
            "qps": len(q) / seconds,
            "qps_k": kmax,
            "nq": len(q),
            "ntotal": self.ntotal,
            "bytes_per_vector": self._bytes() / max(1, self.ntotal),
            "search_params": params.to_string(params.current(self._index)),
        })
        if "build_seconds" in self._extra:
            metrics["build_seconds"] = self._extra["build_seconds"]
        metrics["operating_points"] = self._operating_points(q, gt, plot_k, max_points)
        return metrics

    def _operating_points(self, q: np.ndarray, gt: np.ndarray, k: int, max_points: int) -> list[dict]:
        """explore's candidates, spread along recall, each re-timed as best of several runs."""
        from inria.eval.metrics import recall_at_k

        candidates = tuning.explore(self._index, q, gt, k, min_test_seconds=0.01)
        candidates.sort(key=lambda p: (p[f"recall@{k}"], -p["qps"]))
        before = params.current(self._index)
        points = []
        try:
            for p in tuning.spread(candidates, max_points):
                params.apply(self._index, params.parse(p["param"]), self.config.factory)
                (_, I), seconds = timed(lambda: self._index.search(q, k), min_seconds=0.05)
                points.append({"param": p["param"], f"recall@{k}": recall_at_k(I, gt, k), "qps": len(q) / seconds})
        finally:
            params.apply(self._index, before, self.config.factory)
        return points

    def _bytes(self) -> int:
        """Bytes the index takes: its files when it was loaded from / saved to a directory, else serialised."""
        if self._dir is not None and not self._dirty and (self._dir / storage.INDEX_FILE).is_file():
            files = [self._dir / storage.INDEX_FILE]
            if self._ivfdata is not None:
                files.append(self._ivfdata)
            return sum(f.stat().st_size for f in files if f.is_file())
        if ondisk.is_ondisk(self._cpu_index()) and self._ivfdata is not None:
            return serialized_bytes(self._cpu_index()) + self._ivfdata.stat().st_size
        return serialized_bytes(self._cpu_index())

    # -- recipe verbs ------------------------------------------------------------------------
    @verb(inputs={"vectors": "vectors", "ids": "labels?"}, outputs={"model": "model", "metrics": "metrics"})
    def build_step(self, ctx, vectors, ids=None):
        """Train (on a sample of train_size), add in batches with a progress bar, save the index."""
        out = Path(ctx.out_dir) / "model"
        t0 = time.perf_counter()
        self.train(vectors, ctx=ctx)
        t1 = time.perf_counter()
        self.add(vectors, ids, ctx=ctx, ondisk_dir=out if self.config.ondisk else None)
        t2 = time.perf_counter()
        self._extra["build_seconds"] = t2 - t0
        self.save(out)
        return {"model": out, "metrics": {
            "ntotal": self.ntotal, "build_seconds": t2 - t0, "train_seconds": t1 - t0, "add_seconds": t2 - t1,
            "bytes_per_vector": self._bytes() / max(1, self.ntotal), "on_gpu": self._gpu}}

    @verb(inputs={"model": "model", "queries": "vectors", "ground_truth": "indices?", "vectors": "vectors?",
                  "ids": "labels?"}, outputs={"model": "model", "metrics": "metrics"}, params=TuneParams)
    def tune_step(self, ctx, model, queries, ground_truth=None, vectors=None, ids=None, target_recall=0.9, k=10,
                  min_test_seconds=0.0):
        """Explore operating points; keep the fastest with recall@k >= target_recall; save it in the card."""
        point = self.tune(queries, ground_truth, vectors, ids, target_recall=target_recall, k=k,
                          min_test_seconds=min_test_seconds)
        out = self.save(Path(ctx.out_dir) / "model")
        return {"model": out, "metrics": {"operating_point": point}}

    @verb(inputs={"model": "model", "queries": "vectors", "ground_truth": "indices?", "vectors": "vectors?",
                  "ids": "labels?"}, outputs={"metrics": "metrics"}, params=EvaluateParams)
    def evaluate_step(self, ctx, model, queries, ground_truth=None, vectors=None, ids=None, ks=(1, 10, 100),
                      max_points=12):
        """recall@1/10/100 against exact search, QPS, bytes per vector, build time, recall-vs-QPS points."""
        return {"metrics": self.evaluate(queries, ground_truth, vectors, ids, ks=ks, max_points=max_points)}


def _check_card(card: dict, extra: dict, path: Path) -> None:
    from packaging.version import InvalidVersion, Version

    where = str(path / "card.yaml")
    saved = extra.get("plugin_version") or (card.get("version") if card.get("distribution") == DIST else None)
    mine = plugin_version()
    if saved is not None:
        try:
            newer = Version(str(saved)) > Version(mine)
        except InvalidVersion:
            raise InriaError(f"unreadable plugin version {saved!r}", where=where) from None
        if newer:
            raise InriaError(f"index saved by {DIST} {saved}, newer than the installed {mine}", where=where,
                             hint=f"pip install -U {DIST}")
    if int(extra.get("format", 1)) > INDEX_FORMAT:
        raise InriaError(f"index format {extra['format']} is newer than this plugin reads ({INDEX_FORMAT})",
                         where=where, hint=f"pip install -U {DIST}")
