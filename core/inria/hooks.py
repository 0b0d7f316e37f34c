"""Hooks: events that many plugins may answer, with pluggy.

This module is the plugin API for events. A plugin implements any of these
functions in a module (decorated with :data:`hookimpl`) and registers that
module under the ``inria.hooks`` entry-point group::

    [project.entry-points."inria.hooks"]
    my_plugin = "inria_my_plugin.hooks"

Each plugin's hook module is loaded in isolation: one that fails to import is
reported and skipped (``INRIA_STRICT_PLUGINS=1`` makes it an error). We do
not use pluggy's ``load_setuptools_entrypoints``, which stops at the first
broken plugin.
"""
from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("inria")
#: decorate hook implementations with this
hookimpl = pluggy.HookimplMarker("inria")


class HookSpecs:
    @hookspec
    def inria_run_start(self, run: Any) -> None:
        """A recipe run starts. ``run`` has ``.dir`` (Path), ``.recipe`` (dict) and ``.seed``."""

    @hookspec
    def inria_run_end(self, run: Any, status: str, error: str | None) -> None:
        """A run ends; ``status`` is 'ok' or 'failed' (then ``error`` is the one-line message)."""

    @hookspec
    def inria_step_start(self, run: Any, step: Any) -> None:
        """A step starts. ``step`` has ``.id``, ``.kind`` and ``.dir``."""

    @hookspec
    def inria_step_end(self, run: Any, step: Any, metrics: dict) -> None:
        """A step finished with its metrics (already written to metrics.json)."""

    @hookspec
    def inria_log_metrics(self, source: str, step: int, metrics: dict) -> None:
        """Training or evaluation metrics at iteration ``step`` of ``source`` (a step id or a trainer name).

        The core answers with a console line and a JSON-lines file; plugins
        add sinks (TensorBoard, W&B, ...)."""

    @hookspec
    def inria_attacks(self) -> dict[str, Callable]:
        """Extra image attacks: name -> ``fn(images, strength: float | None) -> images``.

        ``images`` is a float (N, 3, H, W) tensor in [0, 1] or a list of
        (3, H, W) tensors. The names become usable in ``attack`` steps as
        ``name`` or ``name_<strength>``."""


_PM: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    global _PM
    if _PM is None:
        from .registry import get_registry

        pm = pluggy.PluginManager("inria")
        pm.add_hookspecs(HookSpecs)
        for qualified, module in get_registry().load_all("hooks").items():
            try:
                pm.register(module, name=qualified)
            except Exception as e:  # a malformed hook module is that plugin's problem only
                import warnings

                warnings.warn(f"hooks of {qualified} could not be registered: {e}", stacklevel=2)
        _PM = pm
    return _PM


def reset_plugin_manager() -> None:
    global _PM
    _PM = None
