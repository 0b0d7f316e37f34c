"""Data plumbing of the trainer: a resumable distributed sampler, a collate that explains itself, device moves."""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterator

import torch
from torch.utils.data import DistributedSampler

from ..errors import InriaError


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` that can start an epoch at sample ``start`` (a mid-epoch resume).

    The order of an epoch depends only on ``seed`` and the epoch (as in
    ``DistributedSampler``), never on a global RNG, so skipping the first
    ``start`` indices continues exactly where an interrupted run stopped.

    ``repeats > 1`` is DeiT's repeated augmentation (``RASampler``): each
    index of the shuffled order appears ``repeats`` times in a row, the copies
    are dealt to different ranks (or, in one process, to the same batch, each
    copy augmented differently), and an epoch keeps ``len(dataset) /
    world_size`` samples per rank, i.e. ``1 / repeats`` of the distinct images.
    """

    def __init__(self, dataset, num_replicas: int, rank: int, shuffle: bool = True, seed: int = 0, repeats: int = 1):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.repeats = int(repeats)
        if self.repeats > 1:
            n = len(dataset)
            self.total_size = math.ceil(n * self.repeats / num_replicas) * num_replicas
            self.num_samples = max(1, n // num_replicas)
        self.start = 0

    def _indices(self) -> list[int]:
        if self.repeats == 1:
            return list(super().__iter__())
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        indices = order.repeat_interleave(self.repeats).tolist()
        indices += indices[: self.total_size - len(indices)]
        return indices[self.rank:self.total_size:self.num_replicas][: self.num_samples]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.start:])

    def __len__(self) -> int:
        return self.num_samples - self.start


_STACK = re.compile(r"stack expects each tensor to be equal size, but got \[([^\]]*)\] at entry (\d+) "
                    r"and \[([^\]]*)\] at entry (\d+)")


class CheckedCollate:
    """``default_collate`` (or ``fn``) that turns a mixed-size stack failure into one line."""

    def __init__(self, fn: Callable | None = None):
        self.fn = fn
        self.custom = fn is not None

    def __call__(self, samples: list) -> Any:
        if self.fn is None:
            from torch.utils.data import default_collate

            fn = default_collate
        else:
            fn = self.fn
        try:
            return fn(samples)
        except RuntimeError as e:
            m = _STACK.search(str(e))
            if m is None or self.custom:
                raise
            raise InriaError(f"the dataset yields tensors of mixed sizes in one batch ([{m.group(1)}] and "
                             f"[{m.group(3)}]) and no collate rule is set", where="train data",
                             hint="resize or crop in the dataset (or an augmentation), or pass collate_fn= to the "
                                  "Trainer") from None


def unwrap_worker_error(e: InriaError) -> InriaError:
    """A DataLoader worker re-raises our error with its traceback glued on: keep our line."""
    text = str(e)
    marker = "InriaError: "
    if "DataLoader worker" in text and marker in text:
        return InriaError(text.rsplit(marker, 1)[1].strip())
    return e


def to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


class TensorData(torch.utils.data.Dataset):
    """A map-style dataset over tensors sharing their first dimension.

    One tensor: items are its rows (batches are tensors, e.g. for ``mse`` as an
    autoencoder). Two or more: items are tuples ``(x[i], y[i], ...)``
    (batches are lists ``[x, y, ...]``, the ``(inputs, targets)`` pairs the
    core objectives read). Numpy arrays are converted.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise InriaError("TensorData needs at least one tensor", where="train data")
        self.tensors = [torch.as_tensor(t) for t in tensors]
        n = len(self.tensors[0])
        for i, t in enumerate(self.tensors):
            if len(t) != n:
                raise InriaError(f"tensor {i} has {len(t)} rows, tensor 0 has {n}", where="train data")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, i):
        if len(self.tensors) == 1:
            return self.tensors[0][i]
        return tuple(t[i] for t in self.tensors)
