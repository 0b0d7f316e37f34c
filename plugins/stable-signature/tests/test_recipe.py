"""The plugin's bundled recipe runs offline end to end (trimmed: one photo, fewer attacks in evaluate)."""
import json
from pathlib import Path

import yaml

import inria_stable_signature
from inria.recipe import load
from inria.runner import execute

RECIPE = Path(inria_stable_signature.__file__).parent / "recipes" / "stable_signature_eval.yaml"


def test_recipe_validates_as_shipped():
    plan = load(str(RECIPE))
    assert [s.id for s in plan.steps][:3] == ["photos", "stable_signature", "hidden"]


def test_recipe_runs_and_reports_both_detectors_per_attack(tmp_path):
    doc = yaml.safe_load(RECIPE.read_text())
    for step in doc["steps"]:
        if step["id"] == "photos":
            step["with"]["size"] = 256            # dwt_dct's minimum
            step["with"]["names"] = ["rocket"]
        if step.get("do") == "evaluate":
            step["with"]["attacks"] = ["none", "jpeg_50"]
    target = tmp_path / RECIPE.name
    target.write_text(yaml.safe_dump(doc))
    run = execute(load(str(target)), tmp_path / "runs")
    m = json.loads((run / "metrics.json").read_text())
    assert [r["attack"] for r in m["stable_signature"]["attacks"]] == ["none", "jpeg_50"]
    assert m["stable_signature"]["threshold"] == 41 and "psnr_vs_decode" in m["stable_signature"]
    for attack in ("none", "jpeg_80", "brightness_1.5"):
        assert 0.0 <= m["ss_detect"][attack]["bit_accuracy"] <= 1.0
    assert m["dwt_detect"]["none"]["bit_accuracy"] >= 0.95      # the classic baseline, unattacked
    html = (run / "report.html").read_text()
    assert "ss_detect" in html and "dwt_detect" in html
