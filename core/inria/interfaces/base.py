"""The base class of every implementation, and how verbs are declared.

An implementation is a class registered under an entry-point group
(``inria.codec`` ...). It has a dataclass ``Config`` and a set of *verbs*:
methods the recipe runner may call, each declaring its inputs and outputs by
artifact type (see :mod:`inria.interfaces.types`) and, optionally, a
dataclass of per-call parameters::

    class MyCodec(Codec):
        Config = MyConfig

        @verb(inputs={"images": "images"}, outputs={"bitstreams": "bitstreams"})
        def compress_step(self, ctx, images): ...

A recipe step ``{codec: my_codec, do: compress, with: {...}}`` is validated
against ``Config`` plus the verb's ``params`` dataclass: keys of the first
build the implementation, keys of the second go to the call.

An input named ``model`` (type ``model``) is special: when a step wires it,
the runner builds the implementation with ``cls.load(directory)`` instead of
from its config, so ``fit`` in one step feeds ``compress`` in another.
An input whose type ends with ``?`` is optional.
"""
from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any, Callable, ClassVar

from ..config import NoConfig, build, to_dict
from ..errors import InriaError


@dataclasses.dataclass(frozen=True)
class VerbSpec:
    """What :func:`verb` records on a method: the recipe name, typed inputs/outputs, the params dataclass, the doc.

    ``inputs`` / ``outputs`` map argument names to artifact types
    (:data:`inria.interfaces.types.ARTIFACT_TYPES`); a type ending in ``?``
    is optional.
    """

    name: str
    method: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    params: type | None = None
    doc: str = ""

    def required_inputs(self) -> list[str]:
        return [k for k, t in self.inputs.items() if not t.endswith("?")]

    def input_type(self, key: str) -> str:
        return self.inputs[key].rstrip("?")


def verb(name: str | None = None, *, inputs: dict[str, str] | None = None,
         outputs: dict[str, str] | None = None, params: type | None = None) -> Callable:
    """Mark a method as a recipe verb.

    The method is called as ``method(ctx, **inputs, **params)`` and returns a
    dict keyed by the declared outputs. ``ctx`` is a
    :class:`inria.runner.StepContext` (run directory, device, seed, hooks,
    progress bars, checkpoint folder).
    """

    def mark(fn: Callable) -> Callable:
        verb_name = name or fn.__name__.removesuffix("_step")
        fn.__inria_verb__ = VerbSpec(
            name=verb_name, method=fn.__name__, inputs=dict(inputs or {}), outputs=dict(outputs or {}),
            params=params, doc=inspect.getdoc(fn) or "",
        )
        return fn

    return mark


class Component:
    """Base of all implementations (Index, Codec, Watermarker, Curator, Backbone) and of the built-in steps.

    A subclass sets ``Config`` (a dataclass; ``doc()`` fields feed ``inria
    describe``; an optional ``validate()`` raises ValueError naming the field)
    and is built as ``Cls(config)`` or ``Cls(**fields)`` (validated:
    unknown keys, wrong types and ``validate`` failures raise a one-line
    :class:`inria.errors.InriaError`). ``self.config`` holds the validated
    dataclass. The registry sets ``name`` to the entry-point name.

    Verbs are ordinary methods and can be called directly in tests, with a
    :meth:`inria.context.StepContext.standalone` context:
    ``codec.evaluate_step(StepContext.standalone(tmp_path), images)``
    returns the dict of outputs the runner would store.
    """

    #: entry-point group suffix: 'index', 'codec', 'watermarker', 'curator', 'backbone'
    interface: ClassVar[str] = ""
    #: the dataclass validated from a recipe's ``with:`` block
    Config: ClassVar[type] = NoConfig
    #: set by the registry to the entry-point name the class was loaded under
    name: ClassVar[str] = ""

    def __init__(self, config: Any = None, **kwargs: Any):
        if config is None:
            config = build(self.Config, kwargs, where=self.name or type(self).__name__)
        elif kwargs:
            raise TypeError("pass either a Config or keyword arguments, not both")
        self.config = config

    # -- verbs ------------------------------------------------------------
    @classmethod
    def verbs(cls) -> dict[str, VerbSpec]:
        found: dict[str, VerbSpec] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                spec = getattr(attr, "__inria_verb__", None)
                if spec is not None:
                    found[spec.name] = spec
        return found

    @classmethod
    def verb_spec(cls, verb_name: str) -> VerbSpec:
        from ..errors import did_you_mean

        verbs = cls.verbs()
        if verb_name not in verbs:
            raise InriaError(f"'{cls.name or cls.__name__}' has no verb '{verb_name}'", hint=did_you_mean(verb_name, verbs))
        return verbs[verb_name]

    # -- model directories ----------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a self-describing model directory (card.yaml + weights).

        The base writes only the card; trainable implementations extend it
        with their weights (safetensors).
        """
        from ..modeldir import write_card

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_card(path, self)
        return path

    def save_model(self, ctx: Any, name: str = "model") -> Path:
        """:meth:`save` to ``ctx.out_dir / name`` on rank 0 only; every rank returns that path.

        What the ``fit`` / ``build`` verbs use. Under torch.distributed every
        rank holds the same fitted state at the end of a verb: one writes it
        (rank 0 by both ``ctx.rank`` and :func:`inria.distributed.rank`), the
        others write nothing and wait at a barrier (when a process group is
        initialised) so no rank reads a half-written directory.
        """
        from .. import distributed

        path = Path(ctx.out_dir) / name
        if getattr(ctx, "is_main", True):
            distributed.on_main(self.save, path)
        else:  # ctx says another rank than torch.distributed does: write nothing, still meet the others
            distributed.barrier()
        return path

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "Component":
        """Build from a directory written by :meth:`save`; ``overrides`` replace card config fields."""
        from ..modeldir import read_card

        card = read_card(path, expect=cls)
        return cls(build(cls.Config, {**card["config"], **overrides}, where=f"{path}/card.yaml:config"))

    def config_dict(self) -> dict:
        return to_dict(self.config)
