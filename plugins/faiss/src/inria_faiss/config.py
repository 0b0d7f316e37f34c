"""The typed config of the ``faiss`` index and the per-call parameters of its verbs."""
from __future__ import annotations

import dataclasses
from typing import Literal

from inria.config import doc

METRICS = ("l2", "ip", "cosine")


@dataclasses.dataclass
class FaissConfig:
    factory: str = doc("Flat", "any faiss.index_factory string: 'Flat', 'IVF4096,PQ32', 'HNSW32', "
                               "'OPQ16_64,IVF65536_HNSW32,PQ16', 'IVF1024,PQ32x4fs', 'PCA64,IVF1024,SQ8', ...")
    metric: Literal["l2", "ip", "cosine"] = doc(
        "l2", "l2 (squared L2 distance, smaller is closer), ip (inner product, larger is closer) or cosine "
              "(vectors are L2-normalised on train/add/search, then inner product)")
    dim: int | None = doc(None, "vector dimension; known from the first train/add when left out "
                                "(give it to check the factory string against it before any data is read)")
    search_params: dict[str, int | float] = doc(
        {}, "search-time parameters set through faiss.ParameterSpace, e.g. {nprobe: 16}, {efSearch: 128}, "
            "{k_factor_rf: 4} (Refine), {nprobe: 32, quantizer_efSearch: 64}, {ht: 24}")
    device: Literal["cpu", "cuda", "auto"] = doc(
        "auto", "cpu; cuda (all visible GPUs, error without a GPU build of faiss); auto (GPUs when faiss has "
                "GPU support and sees one, else CPU)")
    multi_gpu: Literal["replicate", "shard"] = doc(
        "replicate", "with several GPUs: replicate (each GPU holds the whole index, queries are split) or "
                     "shard (vectors are split across GPUs, results merged)")
    gpu_float16: bool = doc(False, "store vectors / lookup tables in float16 on the GPU (half the memory)")
    train_size: int | None = doc(None, "train on a random sample of at most this many vectors (None: all given)")
    seed: int = doc(0, "seed of the training sample")
    add_batch_size: int = doc(65536, "vectors per batch when adding (bounds the float32 copy of a memory-mapped file)")
    mmap: bool = doc(False, "load: memory-map the index file instead of reading it (read-only index)")
    ondisk: bool = doc(False, "IVF only: keep the inverted lists in an .ivfdata file next to the index "
                              "(faiss.contrib.ondisk) so the index may be larger than RAM")
    threads: int | None = doc(None, "faiss OpenMP threads (process-wide; None leaves the default, see README)")

    def validate(self) -> None:
        if not self.factory.strip():
            raise ValueError("factory: empty factory string; e.g. 'Flat', 'IVF1024,PQ16', 'HNSW32'")
        if self.dim is not None and self.dim < 1:
            raise ValueError(f"dim: {self.dim} is not a positive dimension")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"train_size: {self.train_size} must be >= 1 (or null for all vectors)")
        if self.add_batch_size < 1:
            raise ValueError(f"add_batch_size: {self.add_batch_size} must be >= 1")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads: {self.threads} must be >= 1 (or null)")
        from .factory import check_factory

        check_factory(self.factory, self.metric, self.dim)


@dataclasses.dataclass
class TuneParams:
    target_recall: float = doc(0.9, "keep the fastest operating point whose 1-recall@k reaches this")
    k: int = doc(10, "the k of recall@k")
    min_test_seconds: float = doc(0.0, "repeat each timing until it lasts this long (steadier on a busy machine)")


@dataclasses.dataclass
class EvaluateParams:
    ks: list[int] = doc([1, 10, 100], "recall@k cut-offs (1-recall@k against exact search)")
    max_points: int = doc(12, "at most this many operating points for the recall-vs-QPS plot")

