"""Render ``report.html`` from a run directory.

Sections: a summary with the plots that compare steps (every codec's
rate-distortion points on one plot; every detector's bit accuracy per attack
on one chart; every index's recall-vs-QPS operating points), then one section
per step: its metrics as tables, image grids (original, processed and the
amplified difference where the step maps images to images of the same size),
and any PNG the step wrote in its folder. Everything is embedded as base64,
so the file opens offline.
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

MAX_IMAGES = 6
THUMB = 192


def _b64_png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _img_tag(data: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _thumb(path: Path, amplify_from: Path | None = None) -> str | None:
    from PIL import Image, ImageChops

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if amplify_from is not None:
                with Image.open(amplify_from) as ref:
                    ref = ref.convert("RGB")
                    if ref.size != im.size:
                        return None
                    diff = ImageChops.difference(im, ref)
                    im = diff.point(lambda v: min(255, v * 10))  # x10 so invisible marks become visible
            im.thumbnail((THUMB, THUMB))
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            return base64.b64encode(buf.getvalue()).decode()
    except OSError:
        return None


def _scalar_table(metrics: dict) -> str:
    rows = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    if not rows:
        return ""
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table><tr><th>metric</th><th>value</th></tr>{body}</table>"


def _group_table(metrics: dict) -> str:
    groups = [g for g, v in metrics.items() if isinstance(v, dict)]
    if not groups:
        return ""
    cols: list[str] = []
    for g in groups:
        for k, v in metrics[g].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in cols:
                cols.append(k)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr><td>" + html.escape(g) + "</td>" + "".join(f"<td>{_fmt(metrics[g].get(c, ''))}</td>" for c in cols) + "</tr>"
        for g in groups
    )
    return f"<table><tr><th>group</th>{head}</tr>{body}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def _rd_plot(curves: dict[str, list[dict]]) -> str | None:
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, pts in curves.items():
        pts = sorted((p for p in pts if p.get("bpp") is not None and p.get("psnr") is not None), key=lambda p: p["bpp"])
        ax.plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], marker="o", label=name)
    ax.set_xlabel("bits per pixel (real bytes)")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("rate-distortion")
    return _b64_png(fig)


def _attack_chart(series: dict[str, dict[str, float]]) -> str | None:
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    attacks: list[str] = []
    for v in series.values():
        attacks += [a for a in v if a not in attacks]
    fig, ax = plt.subplots(figsize=(max(5.5, 0.55 * len(attacks) * len(series)), 3.8))
    width = 0.8 / len(series)
    for i, (name, vals) in enumerate(series.items()):
        xs = np.arange(len(attacks)) + i * width
        ax.bar(xs, [vals.get(a, np.nan) for a in attacks], width=width, label=name)
    ax.set_xticks(np.arange(len(attacks)) + 0.4 - width / 2, attacks, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("bit accuracy")
    ax.legend(fontsize=8)
    ax.set_title("bit accuracy per attack")
    return _b64_png(fig)


def _op_plot(series: dict[str, list[dict]]) -> str | None:
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, pts in series.items():
        rk = next((k for k in pts[0] if k.startswith("recall")), None)
        if rk is None or "qps" not in pts[0]:
            continue
        pts = sorted(pts, key=lambda p: p[rk])
        ax.plot([p[rk] for p in pts], [p["qps"] for p in pts], marker="o", label=f"{name} ({rk})")
    ax.set_yscale("log")
    ax.set_xlabel("recall")
    ax.set_ylabel("queries per second")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("recall vs speed")
    return _b64_png(fig)


def _images_of(step_dir: Path) -> dict[str, list[Path]]:
    """output name -> PNG files (first group for grouped outputs)."""
    found = {}
    for sub in sorted(p for p in step_dir.iterdir() if p.is_dir() and p.name != "checkpoints"):
        if (sub / "groups.json").is_file():
            for g in json.loads((sub / "groups.json").read_text()):
                gdir = sub / "groups" / g
                pngs = sorted(gdir.glob("*.png"))[:MAX_IMAGES]
                if pngs:
                    found[f"{sub.name} [{g}]"] = pngs
        else:
            pngs = sorted(sub.glob("*.png"))[:MAX_IMAGES]
            if pngs:
                found[sub.name] = pngs
    return found


def write_report(run_dir: str | Path, title: str | None = None) -> Path:
    import yaml

    run_dir = Path(run_dir)
    recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text()) if (run_dir / "recipe.yaml").is_file() else {}
    metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file() else {}
    env = json.loads((run_dir / "env.json").read_text()) if (run_dir / "env.json").is_file() else {}
    steps = [s for s in (recipe.get("steps") or []) if isinstance(s, dict)]
    title = title or recipe.get("name", run_dir.name)

    rd, attacks, ops = {}, {}, {}
    sections = []
    for s in steps:
        sid = s.get("id")
        sdir = run_dir / "steps" / str(sid)
        manifest = json.loads((sdir / "manifest.json").read_text()) if (sdir / "manifest.json").is_file() else {}
        m = metrics.get(sid, {}) if isinstance(metrics.get(sid), dict) else {}
        label = manifest.get("label", "")
        parts = [f"<h2 id='{html.escape(str(sid))}'>{html.escape(str(sid))} <small>{html.escape(label)} · "
                 f"{html.escape(manifest.get('status', 'not run'))}"
                 + (f" · {manifest['seconds']:.1f}s" if "seconds" in manifest else "") + "</small></h2>"]
        if manifest.get("error"):
            parts.append(f"<p class='error'>{html.escape(manifest['error'])}</p>")
        name = label.split(".")[0].split(":")[-1] if label else str(sid)
        if isinstance(m.get("rd"), list):
            rd[f"{sid} ({name})"] = m["rd"]
            rows = "".join(
                "<tr>" + f"<td>{html.escape(json.dumps(p.get('params', {})))}</td>" +
                "".join(f"<td>{_fmt(p.get(k, ''))}</td>" for k in ("bpp", "psnr", "ms_ssim", "ssim")) + "</tr>"
                for p in m["rd"])
            parts.append(f"<table><tr><th>point</th><th>bpp</th><th>PSNR</th><th>MS-SSIM</th><th>SSIM</th></tr>{rows}</table>")
        if isinstance(m.get("operating_points"), list):
            ops[f"{sid} ({name})"] = m["operating_points"]
        groups = {g: v for g, v in m.items() if isinstance(v, dict)}
        if groups and all("bit_accuracy" in v for v in groups.values()):
            attacks[f"{sid} ({name})"] = {g: v["bit_accuracy"] for g, v in groups.items()}
        parts.append(_scalar_table(m))
        parts.append(_group_table(m))
        if sdir.is_dir():
            # original vs processed: the step's images input, when it has one
            src = (s.get("inputs") or {}).get("images")
            src_dir = None
            if isinstance(src, str):
                up, _, out = src.partition(".")
                cand = run_dir / "steps" / up / (out or "images")
                src_dir = cand if cand.is_dir() and not (cand / "groups.json").exists() else None
            for out_name, pngs in _images_of(sdir).items():
                cells = []
                for p in pngs:
                    t = _thumb(p)
                    if t:
                        cells.append(_img_tag(t, f"{sid} {out_name} {p.name}"))
                row = f"<div class='grid'><span>{html.escape(out_name)}</span>{''.join(cells)}</div>"
                parts.append(row)
                if src_dir is not None and out_name == "images":
                    diffs = []
                    for p in pngs:
                        ref = src_dir / p.name
                        if ref.is_file():
                            o, d = _thumb(ref), _thumb(p, amplify_from=ref)
                            if o and d:
                                diffs.append(_img_tag(o, f"original {p.name}") + _img_tag(d, f"difference x10 {p.name}"))
                    if diffs:
                        parts.append("<div class='grid'><span>original | difference ×10</span>" + "".join(diffs) + "</div>")
            for png in sorted(sdir.glob("*.png")):
                t = _thumb(png)
                if t:
                    with open(png, "rb") as fh:
                        full = base64.b64encode(fh.read()).decode()
                    parts.append(f"<figure>{_img_tag(full, png.name)}<figcaption>{html.escape(png.name)}</figcaption></figure>")
        sections.append("<section>" + "".join(p for p in parts if p) + "</section>")

    summary = []
    for plot in (_rd_plot(rd), _attack_chart(attacks), _op_plot(ops)):
        if plot:
            summary.append(f"<figure>{_img_tag(plot, 'summary plot')}</figure>")
    versions = env.get("versions", {})
    meta = (f"seed {env.get('seed', '?')} · inria {versions.get('inria', '?')} · torch {versions.get('torch', '?')} · "
            f"python {versions.get('python', '?')} · commit {str(env.get('git_commit') or 'none')[:10]}")
    css = ("body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:.5em 0}"
           "td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px;text-align:left}.grid{display:flex;flex-wrap:wrap;"
           "gap:4px;align-items:center;margin:4px 0}.grid span{width:140px;font-size:12px}.error{color:#b00}"
           "small{color:#666;font-weight:normal}section{border-top:1px solid #ddd;margin-top:1em}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(str(title))}</title>"
            f"<style>{css}</style></head><body><h1>{html.escape(str(title))}</h1><p>{html.escape(meta)}</p>"
            + ("<section><h2>summary</h2>" + "".join(summary) + "</section>" if summary else "")
            + "".join(sections) + "</body></html>")
    out = run_dir / "report.html"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page)
    tmp.replace(out)
    return out
