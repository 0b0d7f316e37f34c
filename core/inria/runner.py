"""Execute a validated recipe plan into a run directory.

``runs/<name>/<timestamp>/`` holds ``recipe.yaml`` (resolved), ``overrides.json``,
``env.json`` (seed, versions of Python, core, plugins, torch, faiss; the git
commit), ``run.log``, ``steps/<id>/`` (each step's artifacts and its
``manifest.json``), ``metrics.json`` and ``report.html``.

Resume (``--resume``): a finished step whose config and inputs are unchanged
(content hash) is skipped and its artifacts are loaded; an interrupted,
unchanged step runs again with ``ctx.resume = True`` so a training step
continues from its checkpoint; a changed step runs from scratch, and so does
everything downstream (their hashes include the upstream hashes).

Under torchrun every rank executes the plan (training steps need them all);
rank 0 picks the run directory and alone writes artifacts and reports.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import artifacts
from .artifacts import Grouped
from .context import StepContext, resolve_device
from .errors import InriaError
from .recipe import Plan, PlannedStep

log = logging.getLogger("inria.run")


@dataclasses.dataclass
class Run:
    dir: Path
    recipe: dict
    seed: int
    plan: Plan
    source: str


@dataclasses.dataclass
class StepInfo:
    id: str
    kind: str
    dir: Path
    label: str


def _rank_world() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _versions() -> dict:
    import importlib.metadata as md
    import platform

    from .registry import get_registry

    out = {"python": platform.python_version()}
    for dist in ("inria", "torch", "torchvision", "faiss-cpu", "faiss-gpu", "timm", "numpy"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    out["plugins"] = {e.distribution: e.version for e in get_registry().entries() if e.distribution != "inria"}
    return out


def _git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return res.stdout.strip() or None if res.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def _step_hash(step: PlannedStep, hashes: dict[str, str]) -> str:
    body = {
        "label": step.label,
        "config": artifacts.to_json(dataclasses.asdict(step.config)),
        "params": artifacts.to_json(step.params),
        "inputs": {k: [hashes[up], out] for k, (up, out) in sorted(step.inputs.items())},
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _new_run_dir(root: Path, name: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / name / stamp
    path, i = base, 1
    while path.exists():
        path = base.with_name(f"{stamp}-{i}")
        i += 1
    path.mkdir(parents=True)
    return path


def latest_run(root: Path, name: str) -> Path:
    runs = sorted(p for p in (root / name).glob("*") if p.is_dir()) if (root / name).is_dir() else []
    if not runs:
        raise InriaError(f"no run of '{name}' to resume under {root / name}", hint="run it once without --resume")
    return runs[-1]


def _call_verb(component: Any, step: PlannedStep, ctx: StepContext, inputs: dict) -> dict:
    method = getattr(component, step.verb.method)
    grouped = {k: v for k, v in inputs.items() if isinstance(v, Grouped)}
    if not grouped:
        return method(ctx, **inputs, **step.params)
    groups = list(next(iter(grouped.values())))
    results: dict[str, dict] = {}
    for g in groups:
        one = {k: (v[g] if isinstance(v, Grouped) else v) for k, v in inputs.items()}
        if any(isinstance(v, Grouped) and g not in v for v in inputs.values()):
            raise InriaError(f"inputs have different groups (no '{g}' in all of them)")
        results[g] = method(ctx, **one, **step.params)
    keys = results[groups[0]].keys()
    out: dict[str, Any] = {}
    for key in keys:
        if step.verb.outputs.get(key, "").rstrip("?") == "metrics":
            out[key] = {g: results[g][key] for g in groups}
        else:
            out[key] = Grouped((g, results[g][key]) for g in groups)
    return out


def execute(plan: Plan, out_root: str | Path = "runs", overrides: list[str] | None = None,
            resume: bool | str | Path = False, force: bool = False, recipe_arg: str | None = None) -> Path:
    from .hooks import plugin_manager

    rank, world = _rank_world()
    if world > 1:
        from .distributed import broadcast_object, init_from_env

        init_from_env()
    out_root = Path(out_root)
    if rank == 0:
        if resume:
            run_dir = Path(resume) if isinstance(resume, (str, Path)) and resume is not True else latest_run(out_root, plan.name)
            if not (run_dir / "env.json").is_file():
                raise InriaError("not a run directory (no env.json)", where=str(run_dir))
        else:
            run_dir = _new_run_dir(out_root, plan.name)
    else:
        run_dir = None
    if world > 1:
        run_dir = broadcast_object(run_dir)
    run_dir = Path(run_dir)
    recipe_arg = recipe_arg or plan.source

    handler = None
    if rank == 0:
        import yaml

        (run_dir / "recipe.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(plan.resolved, default=str)), sort_keys=False))
        (run_dir / "overrides.json").write_text(json.dumps(overrides or []))
        env = {"seed": plan.seed, "device": plan.device, "versions": _versions(), "git_commit": _git_commit(),
               "argv": sys.argv, "world_size": world}
        (run_dir / "env.json").write_text(json.dumps(env, indent=1))
        handler = logging.FileHandler(run_dir / "run.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logging.getLogger("inria").addHandler(handler)
        logging.getLogger("inria").setLevel(logging.INFO)

    run = Run(dir=run_dir, recipe=plan.resolved, seed=plan.seed, plan=plan, source=plan.source)
    pm = plugin_manager()
    sinks = contextlib.ExitStack()
    if rank == 0:
        from .train.sinks import run_sinks

        sinks.enter_context(run_sinks(run_dir, pm))  # every step's iteration metrics -> metrics.jsonl
    pm.hook.inria_run_start(run=run)
    device = resolve_device(plan.device)
    memory: dict[str, dict[str, Any]] = {}
    hashes: dict[str, str] = {}
    all_metrics: dict[str, Any] = {}
    metrics_path = run_dir / "metrics.json"
    if resume and metrics_path.is_file():
        all_metrics = json.loads(metrics_path.read_text())
    status, error = "ok", None
    try:
        for n, step in enumerate(plan.steps, 1):
            h = _step_hash(step, hashes)
            hashes[step.id] = h
            step_dir = run_dir / "steps" / step.id
            manifest_path = step_dir / "manifest.json"
            manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
            same = manifest.get("hash") == h
            if resume and same and manifest.get("status") == "done":
                memory[step.id] = {k: artifacts.load(step.verb.outputs[k].rstrip("?"), step_dir, k)
                                   for k in manifest.get("outputs", [])}
                _say(rank, f"[{n}/{len(plan.steps)}] {step.id} ({step.label}): unchanged, skipped")
                continue
            continue_ckpt = bool(resume) and same and manifest.get("status") in ("running", "failed")
            if rank == 0:
                if step_dir.exists() and not continue_ckpt:
                    shutil.rmtree(step_dir)
                step_dir.mkdir(parents=True, exist_ok=True)
                _write_manifest(manifest_path, {"hash": h, "status": "running", "label": step.label})
            info = StepInfo(step.id, step.kind, step_dir, step.label)
            pm.hook.inria_step_start(run=run, step=info)
            _say(rank, f"[{n}/{len(plan.steps)}] {step.id} ({step.label})" + (" resuming" if continue_ckpt else ""))
            t0 = time.perf_counter()
            ctx = StepContext(out_dir=step_dir, step_id=step.id, run_dir=run_dir, device=device,
                              seed=plan.seed, resume=continue_ckpt, force=force, rank=rank, world_size=world)
            try:
                inputs = {k: memory[up][out] for k, (up, out) in step.inputs.items()}
                for k, (up, out) in step.inputs.items():
                    if inputs[k] is None:
                        raise InriaError(f"input '{k}': step '{up}' produced no '{out}'")
                if "model" in step.inputs:
                    component = _load_component(step, inputs["model"])
                else:
                    component = step.cls(step.config)
                outputs = _call_verb(component, step, ctx, inputs)
                missing = [k for k, t in step.verb.outputs.items() if not t.endswith("?") and k not in outputs]
                if missing:
                    raise RuntimeError(f"{step.label} did not return its declared outputs {missing}")
                stored: dict[str, Any] = {}
                for key, value in outputs.items():
                    if value is None or key not in step.verb.outputs:
                        continue
                    kind = step.verb.outputs[key].rstrip("?")
                    if rank == 0:
                        artifacts.save(kind, value, step_dir, key)
                        stored[key] = artifacts.load(kind, step_dir, key) if kind != "metrics" else value
                    else:
                        stored[key] = value
                memory[step.id] = stored
                metrics = outputs.get("metrics") or {}
            except InriaError as e:
                _fail(rank, manifest_path, h, step, str(e))
                raise InriaError(f"step '{step.id}' ({step.label}) failed: {e}",
                                 hint=_resume_hint(run_dir, recipe_arg)) from None
            except KeyboardInterrupt:
                _fail(rank, manifest_path, h, step, "interrupted")
                raise
            except Exception as e:
                log.error("step %s failed:\n%s", step.id, traceback.format_exc())
                _fail(rank, manifest_path, h, step, f"{type(e).__name__}: {e}")
                raise InriaError(f"step '{step.id}' ({step.label}) failed: {type(e).__name__}: {e} "
                                 f"(traceback in {run_dir / 'run.log'})", hint=_resume_hint(run_dir, recipe_arg)) from None
            took = time.perf_counter() - t0
            all_metrics[step.id] = artifacts.to_json(metrics)
            if rank == 0:
                _write_manifest(manifest_path, {"hash": h, "status": "done", "label": step.label,
                                                "outputs": sorted(memory[step.id]), "seconds": took,
                                                "config": artifacts.to_json(dataclasses.asdict(step.config)),
                                                "params": artifacts.to_json(step.params)})
                metrics_path.write_text(json.dumps(all_metrics, indent=1))
            pm.hook.inria_step_end(run=run, step=info, metrics=metrics)
            _say(rank, f"    done in {took:.1f}s" + _brief(metrics))
            if world > 1:
                from .distributed import barrier

                barrier()
    except BaseException as e:
        status, error = "failed", str(e)
        raise
    finally:
        if rank == 0:
            try:
                from .report.html import write_report

                write_report(run_dir)
            except Exception as e:  # the report never hides the run's own outcome
                log.error("report failed: %s", traceback.format_exc())
                _say(rank, f"report.html could not be written: {type(e).__name__}: {e}")
        pm.hook.inria_run_end(run=run, status=status, error=error)
        sinks.close()
        if handler is not None:
            logging.getLogger("inria").removeHandler(handler)
            handler.close()
    _say(rank, f"run directory: {run_dir}\nreport: {run_dir / 'report.html'}")
    return run_dir


def _load_component(step: PlannedStep, path: Path) -> Any:
    """Build from an upstream model directory; config keys the step sets explicitly override the card's."""
    import inspect

    names = {f.name for f in dataclasses.fields(step.cls.Config)}
    explicit = {k: getattr(step.config, k) for k in (step.raw.get("with") or {}) if k in names}
    if not explicit:
        return step.cls.load(path)
    params = inspect.signature(step.cls.load).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return step.cls.load(path, **explicit)
    raise InriaError(f"'{step.impl}' loaded from a model directory cannot change {', '.join(sorted(explicit))}",
                     hint="remove those keys from 'with', or set them in the step that trains the model")


def _resume_hint(run_dir: Path, recipe_arg: str) -> str:
    return f"earlier steps are kept in {run_dir}; continue with: inria run {recipe_arg} --resume {run_dir}"


def _fail(rank: int, manifest_path: Path, h: str, step: PlannedStep, message: str) -> None:
    if rank == 0 and manifest_path.parent.exists():
        _write_manifest(manifest_path, {"hash": h, "status": "failed", "label": step.label, "error": message})


def _write_manifest(path: Path, body: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1))
    os.replace(tmp, path)


def _say(rank: int, text: str) -> None:
    if rank == 0:
        print(text, file=sys.stderr, flush=True)
        log.info(text)


def _numbers(metrics: dict, n: int) -> list[str]:
    return [f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)][:n]


def _brief(metrics: Any) -> str:
    """The console line after a step: its first numbers, or every point of a sweep.

    A sweep is a metrics list of dicts that each carry ``params`` (a codec's
    ``rd``); with several points each is printed with its parameters, so the
    line never shows one point as if it were the step's only result.
    """
    if not isinstance(metrics, dict):
        return ""
    for key, value in metrics.items():
        if (isinstance(value, list) and len(value) > 1
                and all(isinstance(p, dict) and isinstance(p.get("params"), dict) for p in value)):
            from .eval.codec import point_label

            points = " | ".join(f"{point_label(p['params'])}: {' '.join(_numbers(p, 3))}" for p in value)
            return f"  {len(value)} sweep points ({key}): {points}"
    flat = _numbers(metrics, 5)
    return ("  " + " ".join(flat)) if flat else ""
