"""The runner: artifacts by type, metrics, resume rules, failures that keep earlier work."""
import json

import numpy as np
import pytest

from inria.errors import InriaError
from inria.recipe import load
from inria.runner import execute

RECIPE = """name: rt
seed: 3
device: cpu
steps:
  - id: photos
    run: images
    with: {source: samples, size: 48, limit: 3}
  - id: code
    codec: fakejpeg
    do: evaluate
    with: {quality: 50, sweep: {quality: [20, 80]}}
    inputs: {images: photos}
  - id: attacked
    run: attack
    with: {attacks: [none, jpeg_50, crop_0.5]}
    inputs: {images: photos}
  - id: bits
    codec: fakejpeg
    do: compress
    inputs: {images: attacked}
"""


def _run(tmp_path, text=RECIPE, **kw):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return execute(load(str(path), kw.pop("overrides", [])), tmp_path / "runs", **kw)


def test_run_writes_artifacts_metrics_and_report(tmp_path, fake_codecs):
    with fake_codecs(tmp_path / "site"):
        run = _run(tmp_path)
    for name in ("recipe.yaml", "overrides.json", "env.json", "run.log", "metrics.json", "report.html"):
        assert (run / name).is_file(), name
    env = json.loads((run / "env.json").read_text())
    assert env["seed"] == 3 and "torch" in env["versions"] and "fake-codecs" in env["versions"]["plugins"]
    metrics = json.loads((run / "metrics.json").read_text())
    rd = metrics["code"]["rd"]
    assert [p["params"]["quality"] for p in rd] == [20, 80]
    assert rd[0]["bpp"] < rd[1]["bpp"] and rd[0]["psnr"] < rd[1]["psnr"]
    # bitstreams of every attack group, as .bin files; bpp from their real size
    groups = json.loads((run / "steps/bits/bitstreams/groups.json").read_text())
    assert groups == ["none", "jpeg_50", "crop_0.5"]
    crop_bins = sorted((run / "steps/bits/bitstreams/groups/crop_0.5").glob("*.bin"))
    assert len(crop_bins) == 3 and crop_bins[0].read_bytes()[:2] == b"\xff\xd8"
    assert set(metrics["bits"]) == set(groups)
    assert len(list((run / "steps/photos/images").glob("*.png"))) == 3


def test_resume_skips_unchanged_and_reruns_changed(tmp_path, fake_codecs):
    with fake_codecs(tmp_path / "site"):
        run = _run(tmp_path)
        before = {p: (run / "steps" / p / "manifest.json").stat().st_mtime_ns for p in ("photos", "code", "attacked", "bits")}
        run2 = _run(tmp_path, resume=True)
        assert run2 == run
        after = {p: (run / "steps" / p / "manifest.json").stat().st_mtime_ns for p in before}
        assert after == before  # nothing re-ran
        run3 = _run(tmp_path, resume=True, overrides=["steps.attacked.with.attacks=[none, jpeg_80]"])
        after = {p: (run / "steps" / p / "manifest.json").stat().st_mtime_ns for p in before}
        assert after["photos"] == before["photos"] and after["code"] == before["code"]
        assert after["attacked"] != before["attacked"] and after["bits"] != before["bits"]  # changed + downstream
        assert json.loads((run3 / "steps/bits/bitstreams/groups.json").read_text()) == ["none", "jpeg_80"]


def test_failed_step_keeps_earlier_artifacts_and_names_resume(tmp_path, fake_codecs):
    text = RECIPE + "  - id: boom\n    codec: exploding\n    do: compress\n    inputs: {images: photos}\n"
    with fake_codecs(tmp_path / "site"):
        with pytest.raises(InriaError) as e:
            _run(tmp_path, text)
    msg = str(e.value)
    assert "step 'boom' (codec:exploding.compress) failed: RuntimeError: boom" in msg
    assert "--resume" in msg and "\n" not in msg
    run = next((tmp_path / "runs" / "rt").iterdir())
    assert len(list((run / "steps/photos/images").glob("*.png"))) == 3
    assert json.loads((run / "steps/boom/manifest.json").read_text())["status"] == "failed"
    assert (run / "report.html").is_file()


def test_empty_and_corrupt_image_folders(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    text = f"name: f\nsteps:\n  - id: a\n    run: images\n    with: {{source: {folder}}}\n"
    with pytest.raises(InriaError, match=f"step 'a' .*{folder}: no readable image"):
        _run(tmp_path, text)
    (folder / "bad.png").write_bytes(b"not a png")
    from PIL import Image

    Image.new("RGBA", (5, 7), (255, 0, 0, 128)).save(folder / "good.png")
    with pytest.warns(UserWarning, match="bad.png: skipped"):
        run = _run(tmp_path, text)
    assert len(list((run / "steps/a/images").glob("*.png"))) == 1


def test_vectors_step_and_dry_run_plan(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32))
    text = f"name: v\nsteps:\n  - id: v\n    run: vectors\n    with: {{path: {tmp_path / 'x.npy'}, limit: 5}}\n"
    run = _run(tmp_path, text)
    assert np.load(run / "steps/v/vectors.npy").shape == (5, 4)


def test_select_keeps_the_chosen_rows(tmp_path):
    np.save(tmp_path / "idx.npy", np.array([3, 0, 7]))
    text = ("name: s\nsteps:\n  - id: d\n    run: images\n    with: {source: digits, limit: 10}\n"
            "  - id: pick\n    run: select\n    inputs: {images: d, labels: d, indices: d}\n")
    with pytest.raises(InriaError, match="input 'indices' needs indices, but step 'd'"):
        _run(tmp_path, text)
    from inria.builtins import Select
    from inria.context import StepContext

    images = np.arange(10)
    out = Select().run(StepContext.standalone(tmp_path / "x"), indices=np.array([3, 0, 7]), labels=images)
    assert out["labels"].tolist() == [3, 0, 7]
    with pytest.raises(InriaError, match="indices go up to 12 but labels has 10 rows"):
        Select().run(StepContext.standalone(tmp_path / "x"), indices=np.array([12]), labels=images)


def test_knn_accuracy_from_neighbour_ids(tmp_path):
    from inria.builtins import Knn
    from inria.context import StepContext

    ctx = StepContext.standalone(tmp_path)
    labels = np.array([0, 0, 0, 1, 1, 1])
    good = np.array([[0, 1, 2], [1, 0, 2], [2, 1, 0], [3, 4, 5], [4, 3, 5], [5, 4, 3]])
    assert Knn(k=2).run(ctx, good, labels)["metrics"]["knn2_accuracy"] == 1.0
    bad = np.array([[0, 3, 4], [1, 3, 4], [2, 5, 4], [3, 0, 1], [4, 1, 2], [5, 0, 2]])
    assert Knn(k=2).run(ctx, bad, labels)["metrics"]["knn2_accuracy"] == 0.0
    with pytest.raises(InriaError, match="beyond the 6 labels"):
        Knn(k=2).run(ctx, good + 10, labels)
