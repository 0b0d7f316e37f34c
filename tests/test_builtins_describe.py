"""Built-in steps are describable and documented; `run: quality` measures what a recipe decoded; sweeps say
which point their top-level numbers are."""
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import inria
from inria.builtins import BUILTINS
from inria.errors import InriaError
from inria.recipe import load
from inria.runner import _brief, execute

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_describe_builtin_prints_its_options(name):
    text = inria.describe(name)
    assert text.startswith(f"{name} (built-in step: run: {name}) from inria ")
    cls = BUILTINS[name]
    for f in dataclasses.fields(cls.Config):
        assert re.search(rf"^    {f.name}: ", text, re.M), f"{name}: option {f.name} missing"
    spec = cls.verbs()["run"]
    for key in (*spec.inputs, *spec.outputs):
        assert f"{key}: " in text


def test_describe_images_from_the_cli_names_limit_and_the_sample_count():
    from inria.data.images import SAMPLE_PHOTOS

    proc = subprocess.run([sys.executable, "-m", "inria", "describe", "images"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "limit: int | null = None" in proc.stdout
    assert f"samples has {len(SAMPLE_PHOTOS)}" in proc.stdout and "astronaut" in proc.stdout


def test_unknown_name_suggests_builtins_too():
    with pytest.raises(InriaError, match="did you mean 'images'"):
        inria.describe("imagez")


def test_readme_lists_every_builtin_option():
    text = (ROOT / "README.md").read_text()
    start = text.index("## Built-in steps")
    section = text[start:text.index("\n## ", start + 1)]
    for name, cls in BUILTINS.items():
        assert f"`run: {name}`" in section, name
        for f in dataclasses.fields(cls.Config):
            assert f"`{f.name}`" in section, f"README: {name}'s option {f.name}"
        for key in cls.verbs()["run"].inputs:
            assert f"`{key}`" in section, f"README: {name}'s input {key}"


DECODE = """name: decoded
device: cpu
steps:
  - id: photos
    run: images
    with: {source: samples, size: 64, limit: 3}
  - id: enc
    codec: jpeg
    do: compress
    with: {quality: 30}
    inputs: {images: photos}
  - id: dec
    codec: jpeg
    do: decompress
    inputs: {bitstreams: enc}
  - id: quality
    run: quality
    inputs: {reference: photos, decoded: dec, bitstreams: enc}
  - id: rd
    codec: jpeg
    do: evaluate
    with: {sweep: {quality: [10, 30, 90]}, show: 1}
    inputs: {images: photos}
"""


def test_quality_of_a_decompress_step_matches_evaluate(tmp_path, capfd):
    path = tmp_path / "r.yaml"
    path.write_text(DECODE)
    run = execute(load(str(path)), tmp_path / "runs")
    m = json.loads((run / "metrics.json").read_text())
    q, rd = m["quality"], m["rd"]
    assert q["images"] == 3 and len(q["psnr_per_image"]) == 3 and "ssim" in q
    assert 20 < q["psnr"] < 40  # JPEG q30 on 64x64 photos: lossy, not garbage
    # the same JPEG at quality 30 inside evaluate: same bytes, same decoded pixels
    point = rd["rd"][1]
    assert point["params"] == {"quality": 30}
    assert q["psnr"] == pytest.approx(point["psnr"], abs=1e-9)
    assert q["bpp"] == pytest.approx(point["bpp"], abs=1e-12)
    # the sweep: top-level numbers are point `show` and say so; the console line shows every point
    assert rd["psnr"] == pytest.approx(point["psnr"]) and rd["bpp"] == pytest.approx(point["bpp"])
    assert rd["shown_point"] == "quality=30 (point 2 of 3; all points in rd)"
    err = capfd.readouterr().err
    line = next(ln for ln in err.splitlines() if "sweep points" in ln)
    assert "3 sweep points (rd): quality=10: bpp=" in line and "| quality=30: " in line and "| quality=90: " in line
    assert len(list((run / "steps/rd/images").glob("*.png"))) == 3


def test_quality_refuses_mismatched_inputs(tmp_path):
    import torch

    from inria.context import StepContext

    step = BUILTINS["quality"]()
    ctx = StepContext.standalone(tmp_path)
    a = torch.rand(2, 3, 8, 8)
    with pytest.raises(InriaError, match="inputs.decoded: 1 decoded images against 2 reference"):
        step.run(ctx, a, a[:1])
    with pytest.raises(InriaError, match=r"image 0: decoded \(3, 4, 8\) but the reference is \(3, 8, 8\)"):
        step.run(ctx, a, a[:, :, :4])
    with pytest.raises(InriaError, match="inputs.bitstreams: 1 bitstreams against 2 images"):
        step.run(ctx, a, a, bitstreams=[b"x"])
    perfect = step.run(ctx, a, a.clone(), bitstreams=[b"ab", b"abcd"])["metrics"]
    assert perfect["psnr"] == float("inf") and perfect["bpp"] == pytest.approx((16 + 32) / 2 / 64)


def test_sweep_show_is_checked_and_describe_says_which_point():
    import torch

    from inria.eval.codec import evaluate_codec

    jpeg = inria.create("codec", "jpeg")
    x = [torch.rand(3, 16, 16)]
    with pytest.raises(InriaError, match="show 3 is not a sweep point index; accepted: 0..1 or -1"):
        evaluate_codec(jpeg, x, {"quality": [10, 90]}, show=3)
    with pytest.raises(InriaError, match="sweep.quality: give a non-empty list"):
        evaluate_codec(jpeg, x, {"quality": []})
    last = evaluate_codec(jpeg, x, {"quality": [10, 90]}, show=-1)["metrics"]
    assert last["shown_point"].startswith("quality=90 (point 2 of 2") and last["bpp"] == last["rd"][1]["bpp"]
    single = evaluate_codec(jpeg, x, {})["metrics"]
    assert "shown_point" not in single
    text = inria.describe("jpeg")
    assert "with show: int = 0" in text and "Sweep: every point is in metrics `rd`" in text


def test_brief_prints_single_results_as_before():
    assert _brief({"bpp": 0.5, "psnr": 30.0, "codec": "x"}) == "  bpp=0.5 psnr=30"
    two = _brief({"bpp": 0.5, "rd": [{"params": {"q": 1}, "bpp": 0.1}, {"params": {"q": 2}, "bpp": 0.2}]})
    assert two == "  2 sweep points (rd): q=1: bpp=0.1 | q=2: bpp=0.2"
