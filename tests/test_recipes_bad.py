"""Malformed recipes: each gives one line naming the file, line or field, and what would be accepted."""
import subprocess
import sys
import textwrap

import pytest

from inria.errors import InriaError
from inria.recipe import load

GOOD_HEAD = """name: bad
steps:
  - id: photos
    run: images
    with: {source: samples, size: 32, limit: 2}
"""

CASES = [
    ("malformed yaml", "name: x\nsteps: [\n", r"r\.yaml:\d+: malformed YAML"),
    ("not a mapping", "- a\n- b\n", "a recipe must be a mapping"),
    ("unknown top key", "name: x\nstep: []\n", "r.yaml:2: unknown key 'step'; did you mean 'steps'?"),
    ("no steps", "name: x\nsteps: []\n", "'steps' must be a non-empty list"),
    ("bad name", "name: 'two words'\nsteps: [{id: a, run: images}]\n", "'name' must be a word"),
    ("bad seed", "name: x\nseed: abc\nsteps: [{id: a, run: images}]\n", "r.yaml:2: 'seed' must be an int"),
    ("bad device", "name: x\ndevice: tpu\nsteps: [{id: a, run: images}]\n", "unknown device 'tpu'"),
    ("unknown step key", GOOD_HEAD + "    inptus: {}\n", "r.yaml:6: steps[0]: unknown key 'inptus'; did you mean 'inputs'?"),
    ("unknown builtin", "name: x\nsteps:\n  - id: a\n    run: imgs\n", "r.yaml:4: step 'a': unknown built-in step 'imgs'; did you mean 'images'?"),
    ("two kinds", "name: x\nsteps:\n  - id: a\n    run: images\n    codec: fakejpeg\n", "needs exactly one of run"),
    ("unknown implementation", GOOD_HEAD + "  - id: c\n    codec: fakejpg\n    do: compress\n    inputs: {images: photos}\n",
     "r.yaml:7: step 'c': unknown codec 'fakejpg'; did you mean 'fakejpeg'?"),
    ("unknown verb", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compres\n    inputs: {images: photos}\n",
     "r.yaml:8: step 'c': 'fakejpeg' has no verb 'compres'; did you mean 'compress'?"),
    ("missing do", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n", "'do' is missing; accepted verbs of fakejpeg: compress"),
    ("unknown with key", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compress\n    with: {qualty: 3}\n    inputs: {images: photos}\n",
     "r.yaml:9: step 'c': unknown key 'qualty' in 'with'; did you mean 'quality'?"),
    ("wrong type", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compress\n    with: {quality: high}\n    inputs: {images: photos}\n",
     "r.yaml:9: step 'c': with.quality: 'high' is not an int"),
    ("value out of range", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compress\n    with: {quality: 500}\n    inputs: {images: photos}\n",
     "quality 500 is outside 1..100"),
    ("missing input", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compress\n", "missing input 'images' (images) of verb 'compress'"),
    ("unknown upstream", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compress\n    inputs: {images: photo}\n",
     "r.yaml:9: step 'c': input 'images' refers to unknown step 'photo'; did you mean 'photos'?"),
    ("wrong edge type", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compress\n    inputs: {images: photos}\n"
                        "  - id: d\n    codec: fakejpeg\n    do: compress\n    inputs: {images: c}\n",
     "input 'images' needs images, but step 'c' (codec:fakejpeg.compress) outputs bitstreams (bitstreams), metrics (metrics)"),
    ("cycle", "name: x\nsteps:\n  - id: a\n    run: attack\n    inputs: {images: b}\n  - id: b\n    run: attack\n    inputs: {images: a}\n",
     "steps form a cycle: a -> b -> a"),
    ("duplicate id", GOOD_HEAD + "  - id: photos\n    run: images\n", "step 'photos': duplicate id"),
    ("duplicate key", "name: x\nname: y\nsteps: [{id: a, run: images}]\n", "duplicate key 'name'"),
    ("bad interpolation", "name: x\nvars: {s: 3}\nsteps:\n  - id: a\n    run: images\n    with:\n      size: ${vars.z}\n",
     "r.yaml:7: unknown interpolation ${vars.z}"),
    ("unknown attack", GOOD_HEAD + "  - id: att\n    run: attack\n    with: {attacks: [jpg_50]}\n    inputs: {images: photos}\n",
     "unknown attack 'jpg_50'; did you mean 'jpeg'?"),
    ("unknown input name", GOOD_HEAD + "  - id: c\n    codec: fakejpeg\n    do: compress\n    inputs: {image: photos}\n",
     "verb 'compress' has no input 'image'; did you mean 'images'?"),
]


@pytest.mark.parametrize("label, text, message", CASES, ids=[c[0] for c in CASES])
def test_malformed_recipe(tmp_path, fake_codecs, label, text, message):
    import re

    path = tmp_path / "r.yaml"
    path.write_text(text)
    with fake_codecs(tmp_path / "site"):
        with pytest.raises(InriaError) as e:
            load(str(path))
    msg = str(e.value)
    assert "\n" not in msg
    assert message in msg or re.search(message, msg), msg


def test_set_on_missing_key_and_bad_set(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD_HEAD)
    with pytest.raises(InriaError, match="--set sed: no key 'sed' in the recipe; did you mean 'seed'"):
        load(str(path), ["sed=3"])
    with pytest.raises(InriaError, match="is not key=value"):
        load(str(path), ["seed"])
    with pytest.raises(InriaError, match="unknown key 'sise' in 'with'; did you mean 'size'"):
        load(str(path), ["steps.photos.with.sise=3"])
    plan = load(str(path), ["steps.photos.with.size=16", "seed=7"])
    assert plan.seed == 7 and plan.steps[0].config.size == 16


def test_missing_file_and_unknown_bundled():
    with pytest.raises(InriaError, match="recipe file not found"):
        load("nope/recipe.yaml")
    with pytest.raises(InriaError, match="unknown recipe 'quickstrt'.*did you mean 'quickstart'"):
        load("quickstrt")


def test_cli_prints_one_line_without_traceback(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: x\nstep: []\n")
    out = subprocess.run([sys.executable, "-m", "inria", "validate", str(path)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    assert "unknown key 'step'; did you mean 'steps'?" in out.stderr


def test_yaml_numbers_mean_what_recipes_mean():
    from inria.recipe import parse_yaml

    doc = parse_yaml("a: 4:2:0\nb: 1e-6\nc: 12\nd: 0.5\n", "x.yaml")
    assert doc == {"a": "4:2:0", "b": 1e-6, "c": 12, "d": 0.5}


def test_sweep_values_are_validated(fake_codecs, tmp_path):
    import inria

    with fake_codecs(tmp_path):
        codec = inria.create("codec", "fakejpeg")
        with pytest.raises(InriaError, match="quality 500 is outside 1..100"):
            codec.with_overrides(quality=500)
