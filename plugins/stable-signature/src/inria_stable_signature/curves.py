"""The training curve of ``train_default``: bit accuracy and PSNR against steps, one line per curriculum stage.

``train_default`` writes the rows as ``training_log.jsonl`` beside each model card and draws them here as
``training_curve.png`` (matplotlib), so a user deciding whether to train longer sees the curve next to the model.
"""
from __future__ import annotations

from pathlib import Path


def stage_summary(rows: list[dict]) -> list[dict]:
    """Per stage: its step range and its last bit accuracy and PSNR (what the benchmark prints)."""
    out = []
    for st in dict.fromkeys(r["stage"] for r in rows):
        pts = [r for r in rows if r["stage"] == st]
        out.append({"stage": st, "first_step": pts[0]["step"], "last_step": pts[-1]["step"],
                    "bit_acc": pts[-1]["bit_acc"], "psnr": pts[-1]["psnr"]})
    return out


def plot_training_log(rows: list[dict], path: str | Path) -> Path:
    """Two columns (HiDDeN pre-training, decoder tuning) x two rows (bit accuracy, PSNR)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex="col")
    for col, kind in enumerate(("hidden", "tuning")):
        part = [r for r in rows if r["stage"].startswith(kind)]
        for st in dict.fromkeys(r["stage"] for r in part):
            pts = [r for r in part if r["stage"] == st]
            axes[0, col].plot([r["step"] for r in pts], [r["bit_acc"] for r in pts], marker=".", label=st)
            axes[1, col].plot([r["step"] for r in pts], [r["psnr"] for r in pts], marker=".", label=st)
        axes[0, col].set_title("HiDDeN pre-training (random messages)" if kind == "hidden"
                               else "decoder tuning (the fixed key; PSNR vs D(z))")
        axes[0, col].set_ylabel("bit accuracy (training batches)")
        axes[1, col].set_ylabel("PSNR (dB)")
        axes[1, col].set_xlabel("step")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
        if part:
            axes[0, col].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
