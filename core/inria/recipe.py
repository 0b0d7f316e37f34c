"""Recipes: YAML -> a validated plan, before any step runs.

Format::

    name: watermark-demo        # required
    seed: 0                     # default 0
    device: auto                # cpu | cuda | auto (default)
    vars: {size: 256}           # free values for ${vars.size} interpolation
    steps:
      - id: photos              # unique, [A-Za-z_][A-Za-z0-9_-]*
        run: images             # a built-in step ...
        with: {source: samples, size: ${vars.size}}
      - id: mark
        watermarker: dwt_dct    # ... or one interface key naming an implementation
        do: embed               # the verb (see `inria describe dwt_dct`)
        with: {bits: 32}        # config fields + the verb's parameters
        inputs: {images: photos}   # input -> 'step' or 'step.output'

Errors name the file and line and say what would be accepted. The YAML is
read with a subclass of ``yaml.SafeLoader`` that only records line numbers
(still safe: no tags, no objects).
"""
from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import InriaError, did_you_mean

INTERFACE_KEYS = ("index", "codec", "watermarker", "curator", "backbone")
TOP_KEYS = ("name", "seed", "device", "vars", "steps", "description")
STEP_KEYS = ("id", "run", "do", "with", "inputs", "description") + INTERFACE_KEYS
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_INTERP = re.compile(r"\$\{([^}]*)\}")


class LineDict(dict):
    """A mapping that remembers the line of each key (1-based)."""

    line: int = 0
    lines: dict

    def line_of(self, key: str) -> int:
        return getattr(self, "lines", {}).get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise InriaError(f"duplicate key '{key}'", where=f"line {key_node.start_mark.line + 1}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# YAML 1.1 reads 4:2:0 as the base-60 number 14520 and 1e-6 as a string;
# recipes mean the string and the number.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if not (tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":[0-5]?[0-9]" in rx.pattern)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:int", r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
                               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
):
    _LineLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass, see module doc
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise InriaError(f"malformed YAML: {e.problem or e.context}", where=f"{source}{line}") from None
    except yaml.YAMLError as e:
        raise InriaError(f"malformed YAML: {str(e).splitlines()[0]}", where=source) from None
    except InriaError as e:
        raise InriaError(str(e), where=source) from None


RECIPE_FOLDER = "recipes"


@dataclasses.dataclass(frozen=True)
class RecipeFile:
    """A recipe runnable by name: the core's or one an installed plugin ships."""

    name: str           # the file's stem, e.g. 'quickstart'
    distribution: str   # 'inria' for the core's
    path: Path

    @property
    def qualified(self) -> str:
        return f"{self.distribution}:{self.name}"


def bundled_recipes() -> dict[str, Path]:
    """The core's own recipes (``core/inria/recipes/*.yaml``)."""
    folder = Path(__file__).with_name(RECIPE_FOLDER)
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def available_recipes() -> list[RecipeFile]:
    """The core's recipes, then those of each installed plugin.

    Convention: a plugin ships its recipes as package data,
    ``<its top-level package>/recipes/*.yaml``; the registry finds them from
    distribution metadata without importing the plugin.
    """
    from .registry import CORE_DIST, get_registry

    found = [RecipeFile(name, CORE_DIST, path) for name, path in bundled_recipes().items()]
    found += [RecipeFile(path.stem, dist, path)
              for dist, _version, path in get_registry().shipped_files(RECIPE_FOLDER, ".yaml")]
    return found


def _same_dist(a: str, b: str) -> bool:
    return a.lower().replace("_", "-") == b.lower().replace("_", "-")


def locate(recipe: str) -> Path:
    """A path, or the name of a recipe of the core (``quickstart``) or of an
    installed plugin; ``distribution:name`` picks one of a name shipped twice."""
    path = Path(recipe)
    if path.is_file():
        return path
    if path.suffix in (".yaml", ".yml") or "/" in recipe or "\\" in recipe:
        raise InriaError("recipe file not found", where=recipe)
    dist, _, name = recipe.rpartition(":")
    known = available_recipes()
    matches = [r for r in known if r.name == name and (not dist or _same_dist(r.distribution, dist))]
    if len(matches) == 1:
        return matches[0].path
    if matches:
        dists = " and ".join(f"{r.distribution} ({r.path})" for r in matches)
        times = "twice" if len(matches) == 2 else f"{len(matches)} times"
        raise InriaError(f"recipe '{name}' is provided {times}, by {dists}",
                         hint=f"pick one as '{matches[0].qualified}'")
    if dist:
        elsewhere = [r.qualified for r in known if r.name == name]
        raise InriaError(f"unknown recipe '{name}' in {dist}",
                         hint=f"did you mean '{elsewhere[0]}'?" if len(elsewhere) == 1
                         else did_you_mean(recipe, elsewhere or [r.qualified for r in known]))
    raise InriaError(f"unknown recipe '{recipe}' (not a file, nor a recipe of the core or of an installed plugin)",
                     hint=did_you_mean(recipe, {r.name for r in known}))


# -- overrides and interpolation -------------------------------------------------

def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(doc: dict, overrides: list[str], source: str) -> dict:
    """``--set a.b=c``; steps are addressed by id (``steps.mark.with.bits=32``)."""
    for item in overrides:
        if "=" not in item:
            raise InriaError(f"--set '{item}' is not key=value", hint="e.g. --set steps.mark.with.bits=32")
        path, value = item.split("=", 1)
        keys = path.strip().split(".")
        node: Any = doc
        walked = []
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            if isinstance(node, list) and walked and walked[-1] == "steps":
                ids = [s.get("id") for s in node if isinstance(s, dict)]
                if key not in ids:
                    raise InriaError(f"--set {path}: no step with id '{key}'", hint=did_you_mean(key, ids))
                node = node[ids.index(key)]
                walked.append(key)
                continue
            if not isinstance(node, dict):
                raise InriaError(f"--set {path}: '{'.'.join(walked)}' is not a mapping")
            in_free_block = (bool(walked) and walked[-1] in ("with", "vars", "inputs")) or (not walked and key in TOP_KEYS)
            if last:
                if key not in node and not in_free_block:
                    known = TOP_KEYS if not walked else node.keys()
                    raise InriaError(f"--set {path}: no key '{key}' in {'.'.join(walked) or 'the recipe'}",
                                     hint=did_you_mean(key, known))
                node[key] = _parse_value(value)
            else:
                if key not in node:
                    if key in ("with", "inputs", "vars"):
                        node[key] = LineDict()
                    else:
                        raise InriaError(f"--set {path}: no key '{key}' in {'.'.join(walked) or 'the recipe'}",
                                         hint=did_you_mean(key, node.keys()))
                node = node[key]
            walked.append(key)
    return doc


def _lookup(doc: dict, dotted: str) -> Any:
    node: Any = doc
    for key in dotted.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise KeyError(dotted)
    return node


def interpolate(doc: dict, source: str) -> dict:
    def walk(node: Any, line: int) -> Any:
        if isinstance(node, dict):
            out = LineDict()
            out.line = getattr(node, "line", line)
            out.lines = dict(getattr(node, "lines", {}))
            for k, v in node.items():
                out[k] = walk(v, out.lines.get(k, out.line))
            return out
        if isinstance(node, list):
            return [walk(v, line) for v in node]
        if isinstance(node, str) and "${" in node:
            def value_of(expr: str) -> Any:
                try:
                    return _lookup(doc, expr.strip())
                except KeyError:
                    raise InriaError(f"unknown interpolation ${{{expr}}}", where=f"{source}:{line}",
                                     hint="refer to a recipe key such as ${vars.size} or ${seed}") from None

            whole = _INTERP.fullmatch(node)
            if whole:
                return value_of(whole.group(1))
            return _INTERP.sub(lambda m: str(value_of(m.group(1))), node)
        return node

    return walk(doc, 1)


# -- the plan ---------------------------------------------------------------------

@dataclasses.dataclass
class PlannedStep:
    id: str
    kind: str                 # 'builtin' or an interface name
    impl: str                 # implementation (or built-in) name
    verb: Any                 # VerbSpec
    cls: type
    config: Any
    params: dict
    inputs: dict[str, tuple[str, str]]   # input -> (step id, output name)
    raw: dict
    line: int
    upstream: list[str] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.impl}.{self.verb.name}" if self.kind != "builtin" else f"run:{self.impl}"


@dataclasses.dataclass
class Plan:
    name: str
    seed: int
    device: str
    steps: list[PlannedStep]
    source: str
    resolved: dict


def load(recipe: str | Path, overrides: list[str] | None = None) -> Plan:
    path = locate(str(recipe))
    try:
        text = path.read_text()
    except OSError as e:
        raise InriaError(f"cannot read recipe ({e.strerror})", where=str(path)) from None
    return validate(parse_yaml(text, str(path)), str(path), overrides or [])


def validate(doc: Any, source: str, overrides: list[str] | None = None) -> Plan:
    from .builtins import BUILTINS
    from .registry import get_registry

    if not isinstance(doc, dict):
        raise InriaError("a recipe must be a mapping with 'name' and 'steps'", where=f"{source}:1")
    doc = apply_overrides(copy.deepcopy(doc), overrides or [], source)
    doc = interpolate(doc, source)

    def at(node: Any, key: str | None = None) -> str:
        line = node.line_of(key) if isinstance(node, LineDict) and key else getattr(node, "line", 1)
        return f"{source}:{line}"

    for key in doc:
        if key not in TOP_KEYS:
            raise InriaError(f"unknown key '{key}'", where=at(doc, key), hint=did_you_mean(str(key), TOP_KEYS))
    name = doc.get("name")
    if not isinstance(name, str) or not name or not _ID.match(name):
        raise InriaError(f"'name' must be a word like 'my-recipe', got {name!r}", where=at(doc, "name"))
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InriaError(f"'seed' must be an int, got {seed!r}", where=at(doc, "seed"))
    device = doc.get("device", "auto")
    if device not in ("cpu", "cuda", "auto") and not (isinstance(device, str) and device.startswith("cuda:")):
        raise InriaError(f"unknown device {device!r}", where=at(doc, "device"), hint="accepted: cpu, cuda, auto")
    steps = doc.get("steps")
    if not isinstance(steps, list) or not steps:
        raise InriaError("'steps' must be a non-empty list", where=at(doc, "steps") if "steps" in doc else at(doc))

    registry = get_registry()
    planned: dict[str, PlannedStep] = {}
    order_in_file: list[str] = []
    for i, raw in enumerate(steps):
        if not isinstance(raw, dict):
            raise InriaError(f"steps[{i}] must be a mapping with 'id'", where=f"{source}:{getattr(steps, 'line', 1)}")
        label = f"steps[{i}]"
        for key in raw:
            if key not in STEP_KEYS:
                raise InriaError(f"{label}: unknown key '{key}'", where=at(raw, key), hint=did_you_mean(str(key), STEP_KEYS))
        sid = raw.get("id")
        if not isinstance(sid, str) or not _ID.match(sid):
            raise InriaError(f"{label}: 'id' must be a word like 'photos', got {sid!r}", where=at(raw, "id" if "id" in raw else None))
        label = f"step '{sid}'"
        if sid in planned:
            raise InriaError(f"{label}: duplicate id", where=at(raw, "id"))
        kinds = [k for k in INTERFACE_KEYS + ("run",) if k in raw]
        if len(kinds) != 1:
            raise InriaError(f"{label}: needs exactly one of run, {', '.join(INTERFACE_KEYS)} (found {', '.join(kinds) or 'none'})",
                             where=at(raw))
        kind_key = kinds[0]
        impl = raw[kind_key]
        if not isinstance(impl, str):
            raise InriaError(f"{label}: '{kind_key}' must name an implementation, got {impl!r}", where=at(raw, kind_key))
        if kind_key == "run":
            if impl not in BUILTINS:
                raise InriaError(f"{label}: unknown built-in step '{impl}'", where=at(raw, "run"),
                                 hint=did_you_mean(impl, BUILTINS))
            cls = BUILTINS[impl]
            kind = "builtin"
            verb_name = raw.get("do", "run")
        else:
            try:
                cls = registry.load(kind_key, impl)
            except InriaError as e:
                raise InriaError(f"{label}: {e}", where=at(raw, kind_key)) from None
            kind = kind_key
            verb_name = raw.get("do")
            if verb_name is None:
                verbs = cls.verbs()
                raise InriaError(f"{label}: 'do' is missing", where=at(raw),
                                 hint=f"accepted verbs of {impl}: {', '.join(sorted(verbs))}")
        if not isinstance(verb_name, str):
            raise InriaError(f"{label}: 'do' must be a verb name", where=at(raw, "do"))
        try:
            spec = cls.verb_spec(verb_name)
        except InriaError as e:
            raise InriaError(f"{label}: {e}", where=at(raw, "do")) from None
        with_block = raw.get("with") or LineDict()
        if not isinstance(with_block, dict):
            raise InriaError(f"{label}: 'with' must be a mapping", where=at(raw, "with"))
        config, params = _split_with(cls, spec, with_block, label, lambda k: at(with_block, k) if k else at(raw, "with"))
        inputs_raw = raw.get("inputs") or {}
        if not isinstance(inputs_raw, dict):
            raise InriaError(f"{label}: 'inputs' must map input names to step ids", where=at(raw, "inputs"))
        inputs = {}
        for key, ref in inputs_raw.items():
            if key not in spec.inputs:
                raise InriaError(f"{label}: verb '{spec.name}' has no input '{key}'", where=at(inputs_raw, key),
                                 hint=did_you_mean(str(key), spec.inputs))
            if not isinstance(ref, str) or not ref:
                raise InriaError(f"{label}: input '{key}' must name a step ('photos' or 'photos.images')", where=at(inputs_raw, key))
            up, _, out = ref.partition(".")
            inputs[key] = (up, out)
        for req in spec.required_inputs():
            if req not in inputs:
                raise InriaError(f"{label}: missing input '{req}' ({spec.input_type(req)}) of verb '{spec.name}'",
                                 where=at(raw, "inputs" if "inputs" in raw else None),
                                 hint=f"add inputs: {{{req}: <step id>}}")
        planned[sid] = PlannedStep(sid, kind, impl, spec, cls, config, params, inputs, raw, getattr(raw, "line", 1))
        order_in_file.append(sid)

    # edges: existence, output choice, types
    for step in planned.values():
        for key, (up, out) in list(step.inputs.items()):
            where = at(step.raw.get("inputs", {}), key)
            if up not in planned:
                raise InriaError(f"step '{step.id}': input '{key}' refers to unknown step '{up}'", where=where,
                                 hint=did_you_mean(up, planned))
            if up == step.id:
                raise InriaError(f"step '{step.id}': input '{key}' refers to itself", where=where)
            want = step.verb.input_type(key)
            outs = planned[up].verb.outputs
            if out:
                if out not in outs:
                    raise InriaError(f"step '{step.id}': step '{up}' has no output '{out}'", where=where,
                                     hint=did_you_mean(out, outs))
            else:
                same_type = [o for o, t in outs.items() if t.rstrip("?") == want]
                if key in outs and outs[key].rstrip("?") == want:
                    out = key
                elif len(same_type) == 1:
                    out = same_type[0]
                elif not same_type:
                    have = ", ".join(f"{o} ({t.rstrip('?')})" for o, t in outs.items()) or "nothing"
                    raise InriaError(f"step '{step.id}': input '{key}' needs {want}, but step '{up}' ({planned[up].label}) "
                                     f"outputs {have}", where=where)
                else:
                    raise InriaError(f"step '{step.id}': step '{up}' has several {want} outputs ({', '.join(same_type)})",
                                     where=where, hint=f"write '{up}.{same_type[0]}'")
            got = outs[out].rstrip("?")
            if got != want:
                raise InriaError(f"step '{step.id}': input '{key}' needs {want}, but '{up}.{out}' is {got}", where=where)
            step.inputs[key] = (up, out)
            step.upstream.append(up)

    ordered = _toposort(planned, order_in_file, source)
    return Plan(name=name, seed=seed, device=device, steps=ordered, source=source, resolved=doc)


def _split_with(cls: type, spec: Any, block: dict, label: str, where_of) -> tuple[Any, dict]:
    from .config import build

    config_fields = {f.name for f in dataclasses.fields(cls.Config)}
    param_fields = {f.name for f in dataclasses.fields(spec.params)} if spec.params else set()
    cfg_vals, par_vals = {}, {}
    for key, value in block.items():
        if key in param_fields:
            par_vals[key] = value
        elif key in config_fields:
            cfg_vals[key] = value
        else:
            raise InriaError(f"{label}: unknown key '{key}' in 'with'", where=where_of(key),
                             hint=did_you_mean(str(key), config_fields | param_fields))
    try:
        config = build(cls.Config, cfg_vals, where="with")
        params = dataclasses.asdict(build(spec.params, par_vals, where="with")) if spec.params else {}
    except InriaError as e:
        field = str(e).split(":", 1)[0].removeprefix("with.").split(".")[0].split("[")[0]
        raise InriaError(f"{label}: {e}", where=where_of(field if field in block else None)) from None
    return config, params


def _toposort(steps: dict[str, PlannedStep], order: list[str], source: str) -> list[PlannedStep]:
    done: list[str] = []
    state: dict[str, int] = {}

    def visit(sid: str, path: list[str]) -> None:
        if state.get(sid) == 2:
            return
        if state.get(sid) == 1:
            cycle = path[path.index(sid):] + [sid]
            raise InriaError(f"steps form a cycle: {' -> '.join(cycle)}", where=f"{source}:{steps[sid].line}",
                             hint="an input must come from a step that does not depend on this one")
        state[sid] = 1
        for up in steps[sid].upstream:
            visit(up, path + [sid])
        state[sid] = 2
        done.append(sid)

    for sid in order:
        visit(sid, [])
    return [steps[s] for s in done]
