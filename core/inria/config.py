"""Typed configs: every implementation declares a dataclass ``Config``.

A recipe's ``with:`` block (or ``inria.create(..., **kw)``) is validated
against it before anything heavy runs: unknown keys get a did-you-mean, wrong
types name the field and the accepted type. Field docs live in
``field(metadata={"doc": ...})`` and are printed by ``inria describe``.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from .errors import InriaError, did_you_mean


def doc(default: Any = dataclasses.MISSING, help: str = "", **kw) -> Any:
    """``dataclasses.field`` with a doc string; mutable defaults are copied."""
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"doc": help}, **kw)
    return dataclasses.field(default=default, metadata={"doc": help}, **kw)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in get_args(tp))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Return ``value`` as type ``tp`` or raise a one-line InriaError."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        allowed = get_args(tp)
        if value in allowed:
            return value
        raise InriaError(
            f"{value!r} is not accepted", where=where,
            hint=did_you_mean(str(value), [str(a) for a in allowed]) if isinstance(value, str)
            else f"accepted: {', '.join(repr(a) for a in allowed)}",
        )
    if origin in (Union, types.UnionType):
        errors = []
        for arm in get_args(tp):
            try:
                return _coerce(value, arm, where)
            except InriaError as e:
                errors.append(e)
        raise InriaError(f"{value!r} is not a {_type_name(tp)}", where=where)
    if tp is type(None):
        if value is None:
            return None
        raise InriaError(f"{value!r} is not null", where=where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise InriaError(f"{value!r} is not a bool (true or false)", where=where)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise InriaError(f"{value!r} is not an int", where=where)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:  # YAML reads 1e-6 as a string (YAML 1.1); accept it.
                return float(value)
            except ValueError:
                pass
        raise InriaError(f"{value!r} is not a number", where=where)
    if tp is str:
        if isinstance(value, str):
            return value
        raise InriaError(f"{value!r} is not a string", where=where)
    if origin in (list, tuple) or tp in (list, tuple):
        if isinstance(value, (list, tuple)):
            args = get_args(tp)
            if origin is tuple and args and args[-1] is not Ellipsis:
                if len(args) != len(value):
                    raise InriaError(f"expected {len(args)} items, got {len(value)}", where=where)
                return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
            arm = args[0] if args else Any
            out = [_coerce(v, arm, f"{where}[{i}]") for i, v in enumerate(value)]
            return tuple(out) if (origin is tuple or tp is tuple) else out
        raise InriaError(f"{value!r} is not a list of {_type_name(get_args(tp)[0]) if get_args(tp) else 'values'}", where=where)
    if origin is dict or tp is dict:
        if isinstance(value, dict):
            args = get_args(tp)
            if args:
                return {_coerce(k, args[0], where): _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()}
            return dict(value)
        raise InriaError(f"{value!r} is not a mapping", where=where)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return build(tp, value, where=where)
        raise InriaError(f"{value!r} is not a mapping", where=where)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise InriaError(f"{value!r} is not a {_type_name(tp)}", where=where)


def build(config_cls: type, values: dict | None, where: str = "with") -> Any:
    """Validate ``values`` against dataclass ``config_cls`` and build it."""
    values = dict(values or {})
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"{config_cls!r} is not a dataclass")
    hints = typing.get_type_hints(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls) if f.init}
    for key in values:
        if key not in fields:
            raise InriaError(f"unknown key '{key}'", where=where, hint=did_you_mean(str(key), fields))
    kwargs = {}
    for name, f in fields.items():
        if name in values:
            value = values[name]
            default = _default_of(f)
            if isinstance(value, dict) and dataclasses.is_dataclass(default) and not isinstance(default, type):
                # A partial block ({train: {lr: 0.1}}) overrides the plugin's own
                # defaults for that field, not the nested class's bare defaults.
                value = {**{k.name: getattr(default, k.name) for k in dataclasses.fields(default) if k.init}, **value}
            kwargs[name] = _coerce(value, hints[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InriaError(f"missing required key '{name}' ({_type_name(hints[name])})", where=where)
    obj = config_cls(**kwargs)
    check = getattr(obj, "validate", None)
    if callable(check):
        try:
            check()
        except InriaError:
            raise
        except (ValueError, TypeError) as e:
            raise InriaError(str(e), where=where) from None
    return obj


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def describe(config_cls: type) -> list[dict]:
    """Rows (name, type, default, doc) for ``inria describe``."""
    hints = typing.get_type_hints(config_cls)
    rows = []
    for f in dataclasses.fields(config_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "(required)"
        rows.append({"name": f.name, "type": _type_name(hints[f.name]), "default": default, "doc": f.metadata.get("doc", "")})
    return rows


def to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


@dataclasses.dataclass
class NoConfig:
    """For implementations without options."""
