"""The bundled ImageNet-1k recipes: the paper's settings, and valid against the plugin's configs.

The ImageNet source needs a labelled-folder option the core's `images` step
does not have yet; the test swaps those two steps for the digits source
(which has labels) and validates the rest with the core's recipe validator.
"""
from pathlib import Path

import pytest
import yaml

import inria_deit3
from inria import recipe

RECIPES = sorted((Path(inria_deit3.__file__).parent / "recipes").glob("deit3_*_in1k.yaml"))
PAPER = {  # size: (pre-training resolution, drop-path, lr) from README_revenge.md
    "small": (224, 0.05, 4e-3), "base": (192, 0.2, 3e-3), "large": (192, 0.45, 3e-3), "huge": (154, 0.6, 3e-3)}  # 160 in the paper: 11x11 patches of 14 px


def test_one_recipe_per_size():
    assert [p.stem for p in RECIPES] == [f"deit3_{s}_in1k" for s in
                                         ("base", "huge", "large", "medium", "small", "tiny")]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_validates_with_a_labelled_source(path, tmp_path):
    doc = yaml.safe_load(path.read_text())
    for step in doc["steps"]:
        if step.get("run") == "images":
            step["with"] = {"source": "digits", "split": "train"}
    target = tmp_path / path.name
    target.write_text(yaml.safe_dump(doc))
    plan = recipe.load(str(target))
    fits = [s for s in doc["steps"] if s.get("do") == "fit"]
    pre = fits[0]["with"]
    train = pre["train"]
    assert (train["optimizer"], train["objective"], train["epochs"], train["weight_decay"]) == ("lamb", "bce", 800, 0.05)
    assert train["augmentation"] == ["three_augment", "mixup"] and train["lr_base_batch"] == 0
    assert train["repeated_augment"] == 3
    assert train["augmentation_args"]["mixup"] == {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "label_smoothing": 0.0}
    size = path.stem.split("_")[1]
    if size in PAPER:
        assert (pre["img_size"], pre["drop_path"], train["lr"]) == PAPER[size]
    if pre["img_size"] != 224:  # pre-trained at lower resolution, then fine-tuned at 224 from its weights
        assert fits[1]["with"]["img_size"] == 224 and fits[1]["inputs"]["init"] == "pretrain.model"
    assert plan is not None
