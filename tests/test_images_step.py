"""The `images` built-in step: class-folder labels (labels: folders), ImageNet / ImageFolder style."""
import contextlib
import json

import numpy as np
import pytest
import torch

from inria.builtins import Images
from inria.context import StepContext
from inria.errors import InriaError


def png(path, colour, size=(6, 4)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


@pytest.fixture
def classes(tmp_path):
    """root/<class>/<image>: 'dog' (2 red, one nested), 'cat' (1 green), 'ant' (1 blue)."""
    root = tmp_path / "data"
    png(root / "dog" / "b.png", (255, 0, 0))
    png(root / "dog" / "sub" / "a.png", (255, 0, 0), size=(3, 5))
    png(root / "cat" / "x.png", (0, 255, 0))
    png(root / "ant" / "y.png", (0, 0, 255))
    (root / ".cache").mkdir()  # hidden: not a class
    (root / "notes.txt").write_text("not an image")  # non-image files beside the classes are ignored
    return root


def run(tmp_path, **cfg):
    return Images(**cfg).run(StepContext.standalone(tmp_path / "out"))


def test_class_folders_give_sorted_label_ids_and_classes_json(tmp_path, classes):
    out = run(tmp_path, source=str(classes), labels="folders")
    # sorted names -> ids, as torchvision's ImageFolder: ant 0, cat 1, dog 2
    assert out["labels"].dtype == np.int64 and out["labels"].tolist() == [0, 1, 2, 2]
    colours = [tuple(int(v) for v in (im[:, 0, 0] * 255).round()) for im in out["images"]]
    assert colours == [(0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 0, 0)]
    assert json.loads((tmp_path / "out" / "classes.json").read_text()) == ["ant", "cat", "dog"]
    assert out["metrics"] == {"classes": 3, "images": 4}


def test_size_and_limit_with_folder_labels(tmp_path, classes):
    out = run(tmp_path, source=str(classes), labels="folders", size=8, limit=3)
    assert [tuple(im.shape) for im in out["images"]] == [(3, 8, 8)] * 3
    assert out["labels"].tolist() == [0, 1, 2]
    assert out["metrics"]["classes"] == 3  # the class list does not shrink with the limit


def test_labels_none_reads_the_same_folder_unlabelled(tmp_path, classes):
    out = run(tmp_path, source=str(classes))
    assert len(out["images"]) == 4 and "labels" not in out
    assert not (tmp_path / "out" / "classes.json").exists()


def test_folder_labels_through_the_runner(tmp_path, classes):
    from inria.recipe import load
    from inria.runner import execute

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: folders\nsteps:\n  - id: data\n    run: images\n"
                      f"    with: {{source: '{classes}', labels: folders, size: 4}}\n")
    run_dir = execute(load(str(recipe), []), tmp_path / "runs")
    step = run_dir / "steps" / "data"
    assert np.load(step / "labels.npy").tolist() == [0, 1, 2, 2]
    assert json.loads((step / "classes.json").read_text()) == ["ant", "cat", "dog"]
    assert json.loads((run_dir / "metrics.json").read_text())["data"] == {"classes": 3, "images": 4}


@pytest.mark.parametrize("layout, message", [
    ({"a.png": 1}, "no class sub-folder .*; set labels: none"),
    ({}, "no class sub-folder"),
    ({"cat/x.png": 1, "stray.png": 1}, r"1 image file\(s\) beside the class folders \(e.g. 'stray.png'\)"),
    ({"cat/x.png": 1, "dog/readme.txt": 1}, "dog: class folder 'dog' holds no image"),
    ({"cat/x.png": 1, "dog/broken.png": 0}, "dog: class folder 'dog' has no readable image"),
])
def test_bad_class_layouts_are_one_line_errors_naming_the_folder(tmp_path, layout, message):
    root = tmp_path / "data"
    root.mkdir()
    for rel, good in layout.items():
        if good and rel.endswith(".png"):
            png(root / rel, (1, 2, 3))
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"not a png")
    with pytest.warns(UserWarning) if "broken" in str(layout) else contextlib.nullcontext():
        with pytest.raises(InriaError, match=message) as e:
            run(tmp_path, source=str(root), labels="folders")
    assert "\n" not in str(e.value) and str(root) in str(e.value)


def test_missing_folder_and_bad_config(tmp_path):
    with pytest.raises(InriaError, match="image folder does not exist"):
        run(tmp_path, source=str(tmp_path / "nope"), labels="folders")
    with pytest.raises(InriaError, match="labels 'classes' is not one of: none, folders"):
        Images(source=str(tmp_path), labels="classes")
    with pytest.raises(InriaError, match="labels: folders needs a folder source, not 'digits'"):
        Images(source="digits", labels="folders")


def test_digits_labels_are_unchanged(tmp_path):
    out = run(tmp_path, source="digits", limit=5)
    assert isinstance(out["images"], torch.Tensor) and len(out["labels"]) == 5
