"""Index files inside a model directory, and refusing the ones we cannot trust.

A model directory holds ``card.yaml`` (written by :mod:`inria.modeldir`),
``index.faiss`` (``faiss.write_index``) and, for on-disk IVF indexes,
``index.ivfdata`` (the inverted lists, found next to the index through
``IO_FLAG_ONDISK_SAME_DIR``). The card records the index file's size and
SHA-256: a truncated file is refused before Faiss reads a byte of it (Faiss
trusts the lengths it reads), a corrupt one before it is parsed (unless
``mmap``, where hashing would read the whole file).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import faiss

from inria.errors import InriaError

from .factory import faiss_reason

INDEX_FILE = "index.faiss"
IVFDATA_FILE = "index.ivfdata"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def write(index, directory: Path) -> dict:
    """Write a CPU index; returns the card fields describing the file."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / INDEX_FILE
    tmp = directory / (INDEX_FILE + ".tmp")
    try:
        faiss.write_index(index, str(tmp))
    except RuntimeError as e:
        raise InriaError(f"cannot write the index ({faiss_reason(e)})", where=str(target)) from None
    os.replace(tmp, target)
    return {"index_file": INDEX_FILE, "index_bytes": target.stat().st_size, "index_sha256": sha256(target)}


def read(directory: Path, extra: dict, mmap: bool, verify: bool = True):
    target = directory / extra.get("index_file", INDEX_FILE)
    if not target.is_file():
        raise InriaError("index file not found", where=str(target), hint="the model directory is incomplete")
    size = target.stat().st_size
    expected = extra.get("index_bytes")
    if expected is not None and size != expected:
        raise InriaError(f"truncated or corrupt index file ({size} bytes, the card says {expected})", where=str(target))
    if verify and not mmap and extra.get("index_sha256") and sha256(target) != extra["index_sha256"]:
        raise InriaError("corrupt index file (SHA-256 differs from the card's)", where=str(target))
    flags = 0
    if extra.get("ivfdata_file"):
        ivfdata = directory / extra["ivfdata_file"]
        if not ivfdata.is_file():
            raise InriaError("on-disk inverted lists not found", where=str(ivfdata))
        if extra.get("ivfdata_bytes") is not None and ivfdata.stat().st_size < extra["ivfdata_bytes"]:
            raise InriaError(f"truncated inverted-list file ({ivfdata.stat().st_size} bytes, the card says "
                             f"{extra['ivfdata_bytes']})", where=str(ivfdata))
        flags |= faiss.IO_FLAG_ONDISK_SAME_DIR
    elif mmap:
        # IVF: inverted lists mapped from the file; others: flat codes mapped (IFC)
        flags |= faiss.IO_FLAG_MMAP if extra.get("is_ivf") else faiss.IO_FLAG_MMAP_IFC
    try:
        return faiss.read_index(str(target), flags)
    except (RuntimeError, MemoryError) as e:
        saved, here = extra.get("faiss_version"), faiss.__version__
        hint = f"it was written by faiss {saved}, this is faiss {here}" if saved and saved != here else None
        raise InriaError(f"corrupt or unreadable faiss index ({faiss_reason(e)})", where=str(target), hint=hint) from None


def copy_ivfdata(src: Path, directory: Path) -> Path:
    import shutil

    target = directory / IVFDATA_FILE
    if Path(src).resolve() != target.resolve():
        shutil.copyfile(src, target)
    return target
