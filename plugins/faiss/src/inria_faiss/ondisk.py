"""IVF indexes larger than RAM: inverted lists in an ``.ivfdata`` file.

The recipe of faiss's ``demos/on-disk-ivf``: each batch of vectors is added
to an empty copy of the trained index and written as a shard; the shards'
inverted lists are then merged into one memory-mapped file by
``faiss.contrib.ondisk.merge_ondisk``. Only one batch of float32 vectors and
its codes is ever in memory. Later ``add`` calls append to the same file.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable

import faiss
import numpy as np
from faiss.contrib.ondisk import merge_ondisk

from inria.errors import InriaError

from .factory import faiss_reason


def build(trained, chunks: Iterable[tuple[np.ndarray, np.ndarray]], ivfdata: Path) -> None:
    """Fill the empty, trained IVF index ``trained`` from ``chunks`` of (vectors, ids) into ``ivfdata``."""
    if trained.ntotal != 0:
        raise InriaError("on-disk build needs an empty index", where="ondisk")
    with tempfile.TemporaryDirectory(prefix="inria-faiss-shards-", dir=ivfdata.parent) as tmp:
        shard_files = []
        for i, (x, ids) in enumerate(chunks):
            shard = faiss.clone_index(trained)
            try:
                shard.add_with_ids(x, ids)
            except RuntimeError as e:
                raise InriaError(f"cannot add vectors ({faiss_reason(e)})", where="vectors") from None
            name = str(Path(tmp) / f"shard{i:05d}.faiss")
            faiss.write_index(shard, name)
            shard_files.append(name)
            del shard
        if ivfdata.exists():
            ivfdata.unlink()
        if not shard_files:
            _empty_lists(trained, ivfdata)
            return
        merge_ondisk(trained, shard_files, str(ivfdata))


def _empty_lists(trained, ivfdata: Path) -> None:
    ivf = faiss.extract_index_ivf(trained)
    invlists = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, str(ivfdata))
    ivf.replace_invlists(invlists, True)
    invlists.this.disown()


def ensure_ondisk(index, ivfdata: Path) -> None:
    """Give an empty IVF index on-disk inverted lists (so that plain ``add`` writes to the file)."""
    ivf = faiss.extract_index_ivf(index)
    if isinstance(ivf.invlists, faiss.OnDiskInvertedLists) or "OnDisk" in type(ivf.invlists).__name__:
        return
    if index.ntotal:
        raise InriaError("cannot move a filled index to on-disk lists", where="ondisk",
                         hint="set ondisk: true before adding vectors")
    _empty_lists(index, ivfdata)


def is_ondisk(index) -> bool:
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return False
    return "OnDisk" in type(faiss.downcast_InvertedLists(ivf.invlists)).__name__

