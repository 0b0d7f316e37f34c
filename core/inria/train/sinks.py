"""The core's metric sinks, as pluggy hook implementations of ``inria_log_metrics``.

- this module itself is the **console** sink (a line per call, written with
  ``tqdm.write`` so progress bars stay intact); the plugin manager registers
  it once (the trainer does if nobody has);
- :class:`JsonLinesSink` appends one JSON object per call to
  ``<run dir>/metrics.jsonl``;
- :class:`TensorBoardSink` writes scalars under ``<run dir>/tensorboard``
  when ``torch.utils.tensorboard`` (the ``tensorboard`` package) imports.

The two file sinks belong to a run directory; :func:`run_sinks` registers
them for the time of a block (nested calls for the same folder do nothing),
so the runner can wrap a whole run and the trainer a standalone fit.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from ..hooks import hookimpl, plugin_manager

#: ``INRIA_CONSOLE_METRICS=0`` silences the console sink
CONSOLE_ENV = "INRIA_CONSOLE_METRICS"


def _scalar(v: Any) -> Any:
    if hasattr(v, "item") and getattr(v, "numel", lambda: 1)() == 1:
        v = v.item()
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    try:
        f = float(v)
        return f if math.isfinite(f) else str(f)
    except (TypeError, ValueError):
        return str(v)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def format_line(source: str, step: int, metrics: dict) -> str:
    items = " ".join(f"{k}={_fmt(_scalar(v))}" for k, v in metrics.items())
    return f"[{source}] step {step}: {items}"


@hookimpl
def inria_log_metrics(source: str, step: int, metrics: dict) -> None:
    """Console sink."""
    if os.environ.get(CONSOLE_ENV, "1") == "0":
        return
    from tqdm.auto import tqdm

    tqdm.write(format_line(source, step, metrics), file=sys.stderr)


class JsonLinesSink:
    """One JSON object per ``inria_log_metrics`` call: ``{"source", "step", "time", **metrics}``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @hookimpl
    def inria_log_metrics(self, source: str, step: int, metrics: dict) -> None:
        row = {"source": source, "step": int(step), "time": round(time.time(), 3)}
        row.update({str(k): _scalar(v) for k, v in metrics.items()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def tensorboard_available() -> bool:
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except Exception:
        return False
    return True


class TensorBoardSink:
    """Scalars ``<source>/<metric>`` in a TensorBoard event file under ``log_dir``."""

    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self._writer = None

    @hookimpl
    def inria_log_metrics(self, source: str, step: int, metrics: dict) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.log_dir))
        for k, v in metrics.items():
            v = _scalar(v)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self._writer.add_scalar(f"{source}/{k}", v, int(step))
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def ensure_console(pm=None) -> None:
    """Register this module's console sink unless it already is."""
    pm = pm or plugin_manager()
    module = sys.modules[__name__]
    if not pm.is_registered(module) and pm.get_plugin("inria.train.sinks") is None:
        pm.register(module, name="inria.train.sinks")


@contextlib.contextmanager
def run_sinks(run_dir: str | Path | None, pm=None, tensorboard: bool = True) -> Iterator[list]:
    """Register the JSON-lines (and TensorBoard) sinks of ``run_dir`` for the block."""
    pm = pm or plugin_manager()
    ensure_console(pm)
    added = []
    if run_dir is not None:
        run_dir = Path(run_dir).resolve()
        wanted = [(f"inria.train.sinks.jsonl:{run_dir}", lambda: JsonLinesSink(run_dir / "metrics.jsonl"))]
        if tensorboard and tensorboard_available():
            wanted.append((f"inria.train.sinks.tensorboard:{run_dir}", lambda: TensorBoardSink(run_dir / "tensorboard")))
        for name, make in wanted:
            if pm.get_plugin(name) is None:
                sink = make()
                pm.register(sink, name=name)
                added.append((name, sink))
    try:
        yield [s for _, s in added]
    finally:
        for name, sink in added:
            pm.unregister(name=name)
            if hasattr(sink, "close"):
                sink.close()
