"""Plugin discovery and name resolution, on Python entry points.

Groups: one per interface (``inria.index``, ``inria.codec``,
``inria.watermarker``, ``inria.curator``, ``inria.backbone``), the training
components (``inria.objectives``, ``inria.augmentations``,
``inria.optimizers``, ``inria.param_groups``), ``inria.commands`` (extra CLI
sub-commands) and ``inria.hooks`` (pluggy hook implementations).

Rules:
- entry points are scanned once per process, from metadata only: listing
  never imports a plugin module (``inria plugins`` stays fast);
- one implementation is picked by name with stevedore, which imports only
  that plugin; ``distribution:name`` picks one of several providers;
- a name provided twice is an error naming both distributions;
- each plugin declares the core API range it supports as its dependency on
  ``inria``; a plugin whose range excludes this core is refused, naming both;
- a plugin that fails to import never stops the others (set
  ``INRIA_STRICT_PLUGINS=1`` to make such failures errors, as CI does);
- files a plugin ships as package data (its recipes) are found from the
  same scan, without importing the plugin: see ``Registry.shipped_files``.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata as md
import importlib.util
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import API_VERSION
from .errors import InriaError, did_you_mean

INTERFACE_GROUPS = ("index", "codec", "watermarker", "curator", "backbone")
TRAIN_GROUPS = ("objectives", "augmentations", "optimizers", "param_groups")
OTHER_GROUPS = ("commands", "hooks")
ALL_GROUPS = INTERFACE_GROUPS + TRAIN_GROUPS + OTHER_GROUPS
CORE_DIST = "inria"


def strict() -> bool:
    return os.environ.get("INRIA_STRICT_PLUGINS", "") not in ("", "0", "false", "no")


@dataclasses.dataclass
class Entry:
    group: str          # short group name ('codec', 'objectives', ...)
    name: str
    value: str          # 'module:attr'
    distribution: str
    version: str
    requires: str | None  # the plugin's specifier on 'inria', e.g. '>=0.1,<0.2'

    @property
    def qualified(self) -> str:
        return f"{self.distribution}:{self.name}"

    def compatibility(self) -> str | None:
        """None when compatible, else the reason."""
        if self.distribution == CORE_DIST or self.requires is None:
            return None if self.distribution == CORE_DIST else (
                f"{self.distribution} {self.version} does not declare the inria API range it supports")
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            spec = SpecifierSet(self.requires)
        except InvalidSpecifier:
            return f"{self.distribution} {self.version} declares an invalid inria range '{self.requires}'"
        if spec.contains(API_VERSION, prereleases=True):
            return None
        return (f"{self.distribution} {self.version} supports inria{self.requires}, "
                f"but inria {API_VERSION} is installed")

    def status(self) -> str:
        reason = self.compatibility()
        return "installed" if reason is None else f"incompatible: {reason}"


def _inria_requirement(dist: md.Distribution) -> str | None:
    for req in dist.requires or []:
        m = re.match(r"^\s*inria(?![\w.-])\s*(\[[^\]]*\])?\s*\(?([^;)]*)\)?", req)
        if m:
            if ";" in req and "extra ==" in req:
                continue
            return m.group(2).strip() or ""
    return None


@lru_cache(maxsize=1)
def catalog() -> dict:
    """The first-party plugin catalog (registry.yaml shipped in the core)."""
    import yaml

    path = Path(__file__).with_name("registry.yaml")
    if not path.is_file():
        return {"plugins": []}
    return yaml.safe_load(path.read_text()) or {"plugins": []}


def install_hint(group: str, name: str) -> str | None:
    for plugin in catalog().get("plugins", []):
        if name in (plugin.get("provides", {}) or {}).get(group, []) or []:
            dist = plugin["distribution"]
            return f"'{name}' is provided by {dist}, which is not installed: pip install {dist}"
    return None


class Registry:
    """A snapshot of the installed plugins (scanned once)."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._loaded: dict[tuple[str, str], Any] = {}
        self._dists: dict[str, tuple[md.Distribution, str]] = {}  # plugin name -> (distribution, version)
        seen: set[str] = set()
        for dist in md.distributions():
            # Read the small entry_points.txt first and parse METADATA (an
            # email-format file, slow to parse) only for inria plugins.
            text = dist.read_text("entry_points.txt") or ""
            if "[inria." not in text:
                continue
            dist_name = (dist.metadata["Name"] or "").strip()
            key = dist_name.lower().replace("_", "-")
            if not dist_name or key in seen:
                continue
            seen.add(key)
            self._dists[dist_name] = (dist, dist.version)
            requires = _inria_requirement(dist) if key != CORE_DIST else None
            for ep in dist.entry_points:
                if not ep.group.startswith("inria."):
                    continue
                group = ep.group[len("inria."):]
                if group not in ALL_GROUPS:
                    continue
                self._entries.append(Entry(group, ep.name, ep.value, dist_name, dist.version, requires))

    # -- listing (metadata only) ---------------------------------------------
    def entries(self, group: str | None = None) -> list[Entry]:
        return [e for e in self._entries if group is None or e.group == group]

    def names(self, group: str | None = None) -> list[str]:
        return sorted({e.name for e in self.entries(group)})

    def groups_of(self, name: str) -> list[str]:
        return sorted({e.group for e in self._entries if e.name == name})

    # -- resolution ------------------------------------------------------------
    def find(self, group: str, name: str) -> Entry:
        """The unique entry for ``name`` (or ``distribution:name``) in ``group``."""
        if group not in ALL_GROUPS:
            raise InriaError(f"unknown interface '{group}'", hint=did_you_mean(group, INTERFACE_GROUPS))
        dist = None
        if ":" in name:
            dist, name = name.split(":", 1)
        matches = [e for e in self.entries(group) if e.name == name]
        if dist is not None:
            norm = dist.lower().replace("_", "-")
            matches = [e for e in matches if e.distribution.lower().replace("_", "-") == norm]
        if not matches:
            label = group.rstrip("s") if group in TRAIN_GROUPS else group
            hint = install_hint(group, name) or did_you_mean(name, self.names(group))
            raise InriaError(f"unknown {label} '{name}'" + (f" in {dist}" if dist else ""), hint=hint)
        if len(matches) > 1:
            dists = " and ".join(e.distribution for e in matches)
            raise InriaError(f"{group} '{name}' is provided twice, by {dists}",
                             hint=f"pick one as '{matches[0].distribution}:{name}'")
        return matches[0]

    def load(self, group: str, name: str) -> Any:
        """Import and return the object behind ``name`` (a class or function)."""
        entry = self.find(group, name)
        key = (group, entry.qualified)
        if key in self._loaded:
            return self._loaded[key]
        reason = entry.compatibility()
        if reason is not None:
            raise InriaError(f"refusing {group} '{name}': {reason}",
                             hint=f"install a {entry.distribution} release that supports inria {API_VERSION}")
        obj = _import_entry(entry, unique=":" not in name and len(self.entries(group)) > 0)
        if isinstance(obj, type):
            obj.name = entry.name  # the class learns the name it was registered under
        self._loaded[key] = obj
        return obj

    def create(self, group: str, name: str, config: dict | None = None, where: str | None = None):
        from .config import build

        cls = self.load(group, name)
        cfg = build(cls.Config, config or {}, where=where or f"{name}")
        return cls(cfg)

    def describe(self, name: str, group: str | None = None) -> str:
        """An implementation's (or a built-in step's) provider, config fields and verbs, as ``inria describe`` prints."""
        from .builtins import BUILTINS

        if name in BUILTINS and group in (None, "builtin"):
            # a built-in step (`run: images`); no entry point has a builtin's name (see tests/test_describe.py)
            return describe_component(BUILTINS[name], f"{name} (built-in step: run: {name}) from inria {API_VERSION}",
                                      full_doc=True)
        groups = [group] if group else self.groups_of(name)
        if not groups:
            for g in ALL_GROUPS:
                if install_hint(g, name):
                    raise InriaError(install_hint(g, name))
            raise InriaError(f"unknown implementation '{name}'",
                             hint=did_you_mean(name, [*self.names(), *BUILTINS]))
        out = []
        for g in groups:
            entry = self.find(g, name)
            out.append(describe_component(self.load(g, name), f"{name} ({g}) from {entry.distribution} {entry.version}"))
        return "\n".join(out)

    # -- package data (metadata and the file system only) -------------------------
    def shipped_files(self, folder: str, suffix: str) -> list[tuple[str, str, Path]]:
        """``(distribution, version, path)`` of each ``<package>/<folder>/*<suffix>``
        shipped by an installed plugin (the core excluded), e.g. its recipes.

        ``<package>`` is each top-level package of the distribution
        (``top_level.txt`` and the modules its entry points name). The files
        come from the distribution's RECORD; an editable install's RECORD lists
        none of its package files, so then the package folder is located with
        ``importlib.util.find_spec``, which finds a top-level package without
        executing it. No plugin module is imported. A plugin whose files
        cannot be listed is skipped with a warning (an error under
        ``INRIA_STRICT_PLUGINS=1``).
        """
        out = []
        for name, (dist, version) in sorted(self._dists.items()):
            if name.lower() == CORE_DIST:
                continue
            tops = _top_level_packages(dist, [e.value for e in self._entries if e.distribution == name])
            try:
                paths = _package_data(dist, tops, folder, suffix)
            except Exception as e:  # one broken plugin never stops the others
                msg = f"plugin {name} {version}: cannot list its {folder}/ files: {type(e).__name__}: {e}"
                if strict():
                    raise InriaError(msg) from None
                warnings.warn(msg, stacklevel=2)
                continue
            out += [(name, version, p) for p in paths]
        return out

    def load_all(self, group: str) -> dict[str, Any]:
        """Load every entry of a group, each in isolation (for hooks, commands)."""
        loaded = {}
        for entry in self.entries(group):
            try:
                if entry.compatibility() is not None:
                    raise InriaError(entry.compatibility())
                loaded[entry.qualified] = _import_entry(entry, unique=False)
            except Exception as e:  # one broken plugin never stops the others
                msg = f"plugin {entry.distribution} ({group} '{entry.name}') failed to load: {type(e).__name__}: {e}"
                if strict():
                    raise InriaError(msg) from None
                warnings.warn(msg, stacklevel=2)
        return loaded


def _top_level_packages(dist: md.Distribution, entry_values: list[str]) -> list[str]:
    names = (dist.read_text("top_level.txt") or "").split()
    names += [v.split(":", 1)[0].split(".", 1)[0].strip() for v in entry_values]
    return list(dict.fromkeys(n for n in names if n.isidentifier()))


def _package_data(dist: md.Distribution, tops: list[str], folder: str, suffix: str) -> list[Path]:
    listed = [f for f in dist.files or [] if len(f.parts) > 1 and f.parts[0] in tops]
    if listed:  # a regular install: RECORD names every file
        paths = sorted(Path(dist.locate_file(f)) for f in listed
                       if len(f.parts) == 3 and f.parts[1] == folder and f.name.endswith(suffix))
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{missing[0]} is listed in RECORD but absent")
        return paths
    paths = []
    for top in tops:  # an editable install: find the package folder, do not import it
        spec = importlib.util.find_spec(top)
        if spec is None:
            raise ModuleNotFoundError(f"package '{top}' not found")
        for location in spec.submodule_search_locations or []:
            paths += sorted(p for p in (Path(location) / folder).glob(f"*{suffix}") if p.is_file())
    return paths


def _import_entry(entry: Entry, unique: bool) -> Any:
    try:
        if unique:
            # stevedore picks one named plugin and imports only it.
            try:
                from stevedore import DriverManager
            except ImportError:  # e.g. a bare GPU box running from the source tree
                return md.EntryPoint(entry.name, entry.value, f"inria.{entry.group}").load()

            def fail(_mgr, _ep, err):
                raise err

            mgr = DriverManager(namespace=f"inria.{entry.group}", name=entry.name, invoke_on_load=False,
                                on_load_failure_callback=fail,
                                on_missing_entrypoints_callback=lambda names: None)
            return mgr.driver
        return md.EntryPoint(entry.name, entry.value, f"inria.{entry.group}").load()
    except InriaError:
        raise
    except Exception as e:
        if unique and type(e).__name__ in ("NoMatches", "MultipleMatches"):
            # stevedore's entry-point cache can lag behind an install made in
            # this same process; fall back to the metadata we already read.
            return _import_entry(entry, unique=False)
        raise InriaError(f"plugin {entry.distribution} {entry.version} failed to import {entry.group} "
                         f"'{entry.name}' ({entry.value}): {type(e).__name__}: {e}") from None


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the scan (tests that install plugins at run time)."""
    global _REGISTRY
    _REGISTRY = None
    md_cache = getattr(md, "_cache_clear", None)
    if callable(md_cache):
        md_cache()


def distribution_of(cls: type) -> tuple[str, str]:
    """(distribution, version) that registered ``cls``; ('unregistered', '0') otherwise."""
    value = f"{cls.__module__}:{cls.__qualname__}"
    for e in get_registry().entries():
        if e.value.replace(" ", "") == value:
            return e.distribution, e.version
    return "unregistered", "0"


def describe_component(obj: Any, header: str, full_doc: bool = False) -> str:
    """``header``, the docstring (its first line unless ``full_doc``), config fields and verbs with their params."""
    import inspect

    from .config import describe as rows_of

    out = [header]
    doclines = (inspect.cleandoc(obj.__doc__) if obj.__doc__ else "").splitlines()
    out += [f"  {line}".rstrip() for line in (doclines if full_doc else doclines[:1])]
    config_cls = getattr(obj, "Config", None)
    if config_cls is not None:
        rows = rows_of(config_cls)
        out.append("  config:" if rows else "  config: (none)")
        for row in rows:
            out.append(f"    {row['name']}: {row['type']} = {row['default']!r}  {row['doc']}")
    verbs = getattr(obj, "verbs", None)
    if callable(verbs):
        out.append("  verbs:")
        for v in verbs().values():
            ins = ", ".join(f"{k}: {t}" for k, t in v.inputs.items())
            outs = ", ".join(f"{k}: {t}" for k, t in v.outputs.items())
            out.append(f"    {v.name}({ins}) -> {outs}  {v.doc.splitlines()[0] if v.doc else ''}")
            if v.params is not None:
                for row in rows_of(v.params):
                    out.append(f"      with {row['name']}: {row['type']} = {row['default']!r}  {row['doc']}")
            out += [f"      {line}" for line in _doc_notes(v.doc)]
    return "\n".join(out)


def _doc_notes(doc: str) -> list[str]:
    """Lines of a verb's docstring that start with ``Sweep:`` or ``Note:`` (shown by describe after the params)."""
    return [line.strip() for line in doc.splitlines()[1:] if line.strip().startswith(("Sweep:", "Note:"))]
