"""What a verb receives as ``ctx``: where to write, which device, which seed.

The runner builds one per step; tests and notebooks use
:meth:`StepContext.standalone`.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, Iterable


@dataclasses.dataclass
class StepContext:
    out_dir: Path
    step_id: str = "standalone"
    run_dir: Path | None = None
    device: str = "cpu"
    seed: int = 0
    resume: bool = False
    #: the ``--force`` flag: accept a resume whose config changed
    force: bool = False
    rank: int = 0
    world_size: int = 1
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def standalone(cls, out_dir: str | Path, device: str = "cpu", seed: int = 0, **kw: Any) -> "StepContext":
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return cls(out_dir=out, run_dir=out, device=resolve_device(device), seed=seed, **kw)

    @property
    def checkpoint_dir(self) -> Path:
        """Where a long step keeps checkpoints; ``--resume`` continues from them."""
        return self.out_dir / "checkpoints"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def progress(self, iterable: Iterable, desc: str = "", total: int | None = None, **kw: Any):
        """A tqdm progress bar on rank 0 (quiet when stderr is not a terminal and INRIA_PROGRESS=0)."""
        from tqdm.auto import tqdm

        disable = (not self.is_main) or os.environ.get("INRIA_PROGRESS", "1") == "0"
        return tqdm(iterable, desc=f"{self.step_id}: {desc}" if desc else self.step_id, total=total,
                    disable=disable, leave=False, file=sys.stderr, **kw)

    def log_metrics(self, step: int, metrics: dict) -> None:
        """Send iteration metrics to every sink registered on the hooks (rank 0 only)."""
        if not self.is_main:
            return
        from .hooks import plugin_manager

        plugin_manager().hook.inria_log_metrics(source=self.step_id, step=step, metrics=metrics)

    def rng(self, offset: int = 0):
        import numpy as np

        return np.random.default_rng(self.seed + offset)


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'."""
    if device == "auto":
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        from .errors import InriaError

        raise InriaError(f"unknown device '{device}'", where="device", hint="accepted: cpu, cuda, cuda:N, auto")
    return device
