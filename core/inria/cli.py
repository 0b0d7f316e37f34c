"""The ``inria`` command.

Start-up stays light: ``inria --help`` and ``inria plugins`` import neither
torch nor any plugin (plugins are listed from their metadata).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from .errors import InriaError

INTERFACES = ("index", "codec", "watermarker", "curator", "backbone")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inria", description="Run recipes over INRIA / Meta AI research plugins.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="run a recipe (a YAML file, or a recipe name from `inria recipes`)")
    r.add_argument("recipe")
    r.add_argument("--out", default="runs", help="root folder of run directories (default: runs)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set steps.mark.with.bits=32 (repeatable)")
    r.add_argument("--resume", nargs="?", const=True, default=False, metavar="RUN_DIR",
                   help="continue a run directory (default: the latest run of this recipe)")
    r.add_argument("--force", action="store_true", help="with --resume: accept checkpoints whose config changed")
    r.add_argument("--dry-run", action="store_true", help="validate and print the plan, run nothing")
    r.add_argument("--nproc-per-node", type=int, default=None,
                   help="launch N processes with torch.distributed.run (torchrun flags apply)")

    pl = sub.add_parser("plugins", help="list installed plugins (from metadata)")
    pl.add_argument("--json", action="store_true")
    pl.add_argument("--available", action="store_true", help="list the first-party catalog, installed or not")
    pl.add_argument("--check", action="store_true", help="import each plugin in its own subprocess")

    d = sub.add_parser("describe", help="config fields, verbs and provider of an implementation")
    d.add_argument("name")
    d.add_argument("--interface", choices=INTERFACES + ("builtin", "objectives", "augmentations", "optimizers", "param_groups"))

    v = sub.add_parser("validate", help="validate a recipe without running it")
    v.add_argument("recipe")
    v.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    sub.add_parser("recipes", help="list the recipes runnable by name: the core's and installed plugins'")

    n = sub.add_parser("new-plugin", help="scaffold a plugin package whose first test checks discovery")
    n.add_argument("name")
    n.add_argument("--interface", required=True, choices=INTERFACES)
    n.add_argument("--dir", default="plugins", help="parent folder (default: plugins)")
    n.add_argument("--dist", default=None, metavar="DISTRIBUTION",
                   help="distribution name (default: inria-plugin-NAME); the folder and package follow it, "
                        "e.g. --dist inria-plugin-acme for NAME acme_downscale: plugins/acme, package inria_acme")
    return p


def _extra_commands() -> dict:
    """Sub-commands from plugins (``inria.commands``), by name, not imported yet."""
    from .registry import get_registry

    return {e.name: e for e in get_registry().entries("commands")}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = {}
    if argv and not argv[0].startswith("-") and argv[0] not in ("run", "plugins", "describe", "validate", "recipes", "new-plugin"):
        extra = _extra_commands()
        if argv[0] in extra:
            try:
                from .registry import get_registry

                fn = get_registry().load("commands", argv[0])
                return int(fn(argv[1:]) or 0)
            except InriaError as e:
                print(f"inria: error: {e}", file=sys.stderr)
                return 2
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args, argv)
        if args.command == "plugins":
            return _plugins(args)
        if args.command == "describe":
            from .registry import get_registry

            print(get_registry().describe(args.name, args.interface))
            return 0
        if args.command == "validate":
            from .recipe import load

            plan = load(args.recipe, args.overrides)
            print(f"{plan.source}: ok, {len(plan.steps)} steps: " + " -> ".join(s.id for s in plan.steps))
            return 0
        if args.command == "recipes":
            return _recipes()
        if args.command == "new-plugin":
            from .scaffold import new_plugin

            path = new_plugin(args.name, args.interface, args.dir, dist=args.dist)
            print(f"created {path}; next: pip install -e {path} && pytest {path}")
            return 0
        parser.print_help()
        return 0
    except InriaError as e:
        print(f"inria: error: {e}", file=sys.stderr)
        return 2


def _run(args, argv: list[str]) -> int:
    if args.nproc_per_node and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        rest = []
        skip = False
        for a in argv[1:]:
            if skip:
                skip = False
                continue
            if a == "--nproc-per-node":
                skip = True
                continue
            if a.startswith("--nproc-per-node="):
                continue
            rest.append(a)
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={args.nproc_per_node}",
               "-m", "inria", "run", *rest]
        return subprocess.call(cmd)
    from .recipe import load

    plan = load(args.recipe, args.overrides)
    if args.dry_run:
        print(f"{plan.source}: {plan.name}, seed {plan.seed}, device {plan.device}")
        for i, s in enumerate(plan.steps, 1):
            ins = ", ".join(f"{k}<-{up}.{out}" for k, (up, out) in s.inputs.items())
            print(f"  {i}. {s.id}: {s.label}" + (f"  [{ins}]" if ins else ""))
        return 0
    from .runner import execute

    execute(plan, args.out, overrides=args.overrides, resume=args.resume, force=args.force, recipe_arg=args.recipe)
    return 0


def _recipes() -> int:
    from collections import Counter

    from .recipe import available_recipes

    recipes = available_recipes()
    count = Counter(r.name for r in recipes)
    rows = []
    for r in recipes:
        try:
            lines = r.path.read_text().splitlines()
            about = next((line[2:].strip() for line in lines if line.startswith("# ")), "")
        except (OSError, UnicodeDecodeError) as e:
            about = f"(unreadable: {type(e).__name__})"
        # a name shipped twice is run as distribution:name
        rows.append({"name": r.name if count[r.name] == 1 else r.qualified, "distribution": r.distribution,
                     "description": about})
    _print_rows(rows, False, ("name", "distribution", "description"))
    return 0


def _plugins(args) -> int:
    from .registry import catalog, get_registry

    reg = get_registry()
    if args.available:
        installed = {e.distribution.lower() for e in reg.entries()}
        rows = []
        for p in catalog().get("plugins", []):
            for group, names in (p.get("provides") or {}).items():
                for name in names:
                    rows.append({"name": name, "interface": group, "distribution": p["distribution"],
                                 "paper": p.get("paper", ""),
                                 "status": "installed" if p["distribution"].lower() in installed else "not installed"})
        _print_rows(rows, args.json, ("name", "interface", "distribution", "status", "paper"))
        return 0
    rows = [{"name": e.name, "interface": e.group, "distribution": e.distribution, "version": e.version,
             "status": e.status()} for e in reg.entries() if e.distribution != "inria" or e.group in INTERFACES]
    if args.check:
        by_dist: dict[str, list] = {}
        for e in reg.entries():
            by_dist.setdefault(e.distribution, []).append(e)
        results = {}
        for dist, entries in by_dist.items():
            code = ("import importlib.metadata as md, json, sys\nout = {}\n"
                    f"for g, n, v in {[(f'inria.{e.group}', e.name, e.value) for e in entries]!r}:\n"
                    "    try:\n        md.EntryPoint(n, v, g).load(); out[g + ':' + n] = 'ok'\n"
                    "    except BaseException as e:\n        out[g + ':' + n] = f'{type(e).__name__}: {e}'.splitlines()[0]\n"
                    "print(json.dumps(out))\n")
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
            try:
                results.update(json.loads(proc.stdout.strip().splitlines()[-1]))
            except (IndexError, json.JSONDecodeError):
                for e in entries:
                    results[f"inria.{e.group}:{e.name}"] = f"crashed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
        for row in rows:
            status = results.get(f"inria.{row['interface']}:{row['name']}", "ok")
            if not row["status"].startswith("incompatible"):
                row["status"] = status
    _print_rows(rows, args.json, ("name", "interface", "distribution", "version", "status"))
    if args.check and any(r["status"] != "ok" for r in rows):
        return 1
    return 0


def _print_rows(rows: list[dict], as_json: bool, cols: tuple) -> None:
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    if not rows:
        print("no plugins installed")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols).rstrip())
