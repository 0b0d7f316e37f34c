"""Resolve a training component by entry-point group and name.

Names go through the registry (``inria.registry.get_registry().load``), so a
plugin's objective, another plugin's augmentation and the core's optimizer
combine in one step. When the core runs from a source tree without installed
metadata (``PYTHONPATH=core``, as the GPU script does), the registry sees no
entry points at all; the core's own components then resolve from
:data:`CORE`, which mirrors the core's pyproject.toml (a test keeps them equal).
"""
from __future__ import annotations

import importlib
from typing import Any

from ..errors import InriaError

CORE: dict[str, dict[str, str]] = {
    "objectives": {"cross_entropy": "inria.train.objectives:CrossEntropy", "mse": "inria.train.objectives:MSE",
                   "bce": "inria.train.objectives:BinaryCrossEntropy"},
    "optimizers": {"adamw": "inria.train.optim:adamw", "sgd": "inria.train.optim:sgd",
                   "lamb": "inria.train.optim:lamb"},
    "param_groups": {"all": "inria.train.optim:all_parameters",
                     "attention_only": "inria.train.optim:attention_only"},
    "augmentations": {"none": "inria.train.augment:none", "mixup": "inria.train.augment:Mixup"},
}


def resolve(group: str, name: str) -> Any:
    """The class or function registered as ``name`` in ``inria.<group>``."""
    from ..registry import CORE_DIST, get_registry

    reg = get_registry()
    try:
        return reg.load(group, name)
    except InriaError:
        core_installed = any(e.distribution == CORE_DIST for e in reg.entries(group))
        if core_installed or name not in CORE.get(group, {}):
            raise
    module, attr = CORE[group][name].split(":")
    return getattr(importlib.import_module(module), attr)
