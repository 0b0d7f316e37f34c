import json


def test_plot_curves_draws_both_stages_from_the_run_log(tmp_path):
    from inria_pq_mim.train_default import plot_curves

    assert plot_curves(tmp_path) is None  # no log yet: nothing drawn, no error
    rows = [{"source": "standalone/stage1", "step": s, "psnr": 20 + s / 100, "perplexity": 50.0} for s in (50, 100)]
    rows += [{"source": "standalone/stage2", "step": s, "bits_per_index": 6 - s / 100} for s in (50, 100)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = plot_curves(tmp_path)
    assert out == tmp_path / "curves.png" and out.stat().st_size > 10_000
