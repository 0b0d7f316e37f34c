"""torch.distributed, the only multi-process engine the project uses.

A run launched by ``torchrun`` (or ``inria run RECIPE --nproc-per-node N``,
which goes through ``torch.distributed.run``) finds ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment;
:func:`init_from_env` turns them into a process group (gloo on CPU, NCCL on
CUDA). Everything else here works with or without a process group, so code
calls ``rank()``/``barrier()`` unconditionally and a single process behaves
as rank 0 of 1.

Rank 0 alone writes checkpoints and artifacts (:func:`is_main`); every rank
seeds with ``seed + rank`` (:func:`rank_seed`) so data order, dropout and
augmentations differ between ranks yet are reproducible.
"""
from __future__ import annotations

import datetime
import os
from typing import Any

from .errors import InriaError

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def _dist():
    import torch.distributed as dist

    return dist if dist.is_available() else None


def is_initialized() -> bool:
    dist = _dist()
    return bool(dist is not None and dist.is_initialized())


def env_world_size() -> int:
    """``WORLD_SIZE`` as torchrun sets it (1 when absent)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise InriaError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer",
                         where="environment") from None


def init_from_env(backend: str | None = None, device: str | None = None, timeout_s: float = 1800) -> bool:
    """Join the process group described by torchrun's variables.

    Returns True when a process group is (now) initialized, False for a
    single process (``WORLD_SIZE`` unset or 1). ``backend`` defaults to NCCL
    when ``device`` (or, if None, torch) says CUDA, else gloo. Idempotent.
    """
    if is_initialized():
        return True
    if env_world_size() <= 1:
        return False
    missing = [k for k in _ENV if k not in os.environ]
    if missing:
        raise InriaError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} not set",
                         where="environment", hint="launch with torchrun or inria run --nproc-per-node N")
    import torch

    dist = _dist()
    if dist is None:
        raise InriaError("this torch build has no torch.distributed", where="environment")
    cuda = (device or "").startswith("cuda") if device else torch.cuda.is_available()
    if backend is None:
        backend = "nccl" if cuda else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    return True


def destroy() -> None:
    """Leave the process group (a no-op for a single process)."""
    if is_initialized():
        _dist().destroy_process_group()


def rank() -> int:
    if is_initialized():
        return _dist().get_rank()
    return int(os.environ.get("RANK", "0")) if env_world_size() > 1 else 0


def world_size() -> int:
    if is_initialized():
        return _dist().get_world_size()
    return 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True on rank 0: the only rank that writes files and reports."""
    return rank() == 0


def rank_seed(seed: int) -> int:
    """The seed of this rank: ``seed + rank`` (different per rank, reproducible)."""
    return int(seed) + rank()


def barrier() -> None:
    if is_initialized():
        dist = _dist()
        if dist.get_backend() == "nccl":
            import torch

            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


def on_main(fn, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` on rank 0 only, then every rank waits at a barrier.

    For the writes of scripts that every rank runs to the end (a plugin's
    ``train_default`` under torchrun): one rank writes the model directory,
    prints and measures, and no rank goes on before it is complete. Returns
    ``fn``'s result on rank 0 and None on the others; a single process just
    calls ``fn``.
    """
    out = fn(*args, **kwargs) if is_main() else None
    barrier()
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` from rank ``src`` on every rank (picklable objects)."""
    if not is_initialized():
        return obj
    holder = [obj]
    _dist().broadcast_object_list(holder, src=src, device=_collective_device())
    return holder[0]


def all_gather_object(obj: Any) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank."""
    if not is_initialized():
        return [obj]
    out = [None] * world_size()
    _dist().all_gather_object(out, obj)
    return out


def all_reduce_sum(tensor):
    """Sum ``tensor`` over ranks, in place, and return it.

    Under NCCL a CPU tensor goes through the GPU and comes back.
    """
    if not is_initialized():
        return tensor
    dist = _dist()
    dev = _collective_device()
    if dev is not None and tensor.device != dev:
        moved = tensor.to(dev)
        dist.all_reduce(moved, op=dist.ReduceOp.SUM)
        tensor.copy_(moved)
        return tensor
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def _collective_device():
    """The device NCCL collectives need (None for gloo)."""
    if is_initialized() and _dist().get_backend() == "nccl":
        import torch

        return torch.device("cuda", torch.cuda.current_device())
    return None


__all__ = ["init_from_env", "destroy", "is_initialized", "rank", "world_size", "local_rank", "is_main",
           "rank_seed", "barrier", "on_main", "broadcast_object", "all_gather_object", "all_reduce_sum", "env_world_size"]
