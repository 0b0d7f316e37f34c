"""Helpers for plugin and core tests.

``fake_plugin`` writes a real installed-distribution layout (a
``*.dist-info`` folder with METADATA and entry_points.txt, plus modules) in
a temporary folder and puts it on ``sys.path``, so the registry discovers it
exactly as it would a pip-installed plugin. For subprocesses, prepend the
returned folder to ``PYTHONPATH``.
"""
from __future__ import annotations

import contextlib
import sys
import textwrap
from pathlib import Path
from typing import Iterator


def write_fake_plugin(root: str | Path, dist: str, *, version: str = "1.0", requires_inria: str | None = ">=0.1,<0.2",
                      entry_points: dict[str, dict[str, str]] | None = None,
                      files: dict[str, str] | None = None) -> Path:
    """Write a distribution ``dist`` under ``root``; returns ``root``.

    ``entry_points``: {'inria.codec': {'name': 'module:Class'}, ...};
    ``files``: {'module.py': 'source', ...} written under ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    meta = [f"Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}"]
    if requires_inria is not None:
        meta.append(f"Requires-Dist: inria{requires_inria}")
    (info / "METADATA").write_text("\n".join(meta) + "\n")
    lines = []
    for group, items in (entry_points or {}).items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in items.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    for rel, src in (files or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(src))
    return root


@contextlib.contextmanager
def fake_plugin(root: str | Path, dist: str, **kw) -> Iterator[Path]:
    """Install a fake plugin for the duration of the block (in this process)."""
    from .hooks import reset_plugin_manager
    from .registry import reset_registry

    path = str(write_fake_plugin(root, dist, **kw))
    sys.path.insert(0, path)
    reset_registry()
    reset_plugin_manager()
    try:
        yield Path(path)
    finally:
        sys.path.remove(path)
        for name in [m for m, mod in sys.modules.items() if (getattr(mod, "__file__", None) or "").startswith(path)]:
            del sys.modules[name]
        reset_registry()
        reset_plugin_manager()
