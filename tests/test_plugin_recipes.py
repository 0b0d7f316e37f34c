"""Recipes shipped by plugins (``<package>/recipes/*.yaml``) are listed and run by name, without importing the plugin."""
import sys

import pytest

from inria.cli import main
from inria.errors import InriaError
from inria.recipe import available_recipes, load, locate
from inria.testing import fake_plugin

RECIPE = "# {about}\nname: {name}\nsteps:\n  - id: photos\n    run: images\n    with: {{source: samples, limit: 1}}\n"
# An importable package: had discovery imported it, it would be in sys.modules.
PKG = "IMPORTED = True\n"


def plugin(root, dist, pkg, recipes, **kw):
    files = {f"{pkg}/__init__.py": PKG, f"{pkg}/codec.py": PKG}
    files.update({f"{pkg}/recipes/{name}.yaml": RECIPE.format(name=name, about=f"{name} from {dist}")
                  for name in recipes})
    return fake_plugin(root, dist, entry_points={"inria.codec": {f"{pkg}_codec": f"{pkg}.codec:Codec"}},
                       files=files, **kw)


def test_listed_and_located_by_name_without_importing(tmp_path, capsys):
    with plugin(tmp_path, "fake-recipes", "fake_rec_pkg", ["demo", "other"]) as root:
        found = {r.qualified: r.path for r in available_recipes()}
        assert found["fake-recipes:demo"] == root / "fake_rec_pkg/recipes/demo.yaml"
        assert "fake-recipes:other" in found and "inria:quickstart" in found
        assert locate("demo") == root / "fake_rec_pkg/recipes/demo.yaml"
        assert locate("fake_recipes:demo") == locate("fake-recipes:demo") == locate("demo")
        assert load("demo").name == "demo"
        assert main(["recipes"]) == 0
        out = capsys.readouterr().out
        assert any(line.split()[:2] == ["demo", "fake-recipes"] and "demo from fake-recipes" in line
                   for line in out.splitlines()), out
        assert any(line.split()[:2] == ["quickstart", "inria"] for line in out.splitlines()), out
        assert main(["validate", "demo"]) == 0
        assert "demo.yaml: ok, 1 steps: photos" in capsys.readouterr().out
        assert not [m for m in sys.modules if m.startswith("fake_rec_pkg")]
        with pytest.raises(InriaError, match="unknown recipe 'dem'.*did you mean 'demo'"):
            locate("dem")
        with pytest.raises(InriaError, match="unknown recipe 'demo' in inria; did you mean 'fake-recipes:demo'"):
            locate("inria:demo")


def test_a_name_shipped_twice_is_an_error_naming_both_and_dist_picks(tmp_path, capsys):
    with plugin(tmp_path / "a", "first-recipes", "first_rec_pkg", ["quickstart", "demo"]) as a:
        with plugin(tmp_path / "b", "second-recipes", "second_rec_pkg", ["demo"]) as b:
            with pytest.raises(InriaError, match=r"recipe 'quickstart' is provided twice, by inria \(.*core.*\) "
                                                 r"and first-recipes \(.*first_rec_pkg.*\); pick one as 'inria:quickstart'"):
                locate("quickstart")
            with pytest.raises(InriaError, match="recipe 'demo' is provided twice, by first-recipes .* and second-recipes"):
                load("demo")
            assert locate("inria:quickstart").parent.parent.name == "inria"
            assert locate("first-recipes:quickstart") == a / "first_rec_pkg/recipes/quickstart.yaml"
            assert locate("second-recipes:demo") == b / "second_rec_pkg/recipes/demo.yaml"
            assert main(["recipes"]) == 0
            names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
            assert {"inria:quickstart", "first-recipes:quickstart", "first-recipes:demo",
                    "second-recipes:demo"} <= set(names) and "demo" not in names
            assert main(["validate", "demo"]) == 2
            assert "provided twice" in capsys.readouterr().err
            assert not [m for m in sys.modules if m.startswith(("first_rec_pkg", "second_rec_pkg"))]


def test_record_lists_the_files_of_a_regular_install(tmp_path):
    with plugin(tmp_path, "wheel-recipes", "wheel_rec_pkg", ["listed", "stray"]) as root:
        info = next(root.glob("wheel_recipes-*.dist-info"))
        # RECORD (written by pip for a wheel) names what the distribution installed: 'stray' is not its file.
        (info / "RECORD").write_text("wheel_rec_pkg/__init__.py,,\nwheel_rec_pkg/recipes/listed.yaml,,\n"
                                     f"{info.name}/RECORD,,\n")
        names = {r.name for r in available_recipes() if r.distribution == "wheel-recipes"}
        assert names == {"listed"}


def test_a_broken_plugin_does_not_hide_the_others(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INRIA_STRICT_PLUGINS", raising=False)
    with plugin(tmp_path / "good", "good-recipes", "good_rec_pkg", ["demo"]):
        # installed metadata whose package is gone (e.g. a deleted editable checkout)
        with fake_plugin(tmp_path / "bad", "gone-plugin", entry_points={"inria.codec": {"gone": "gone_pkg.codec:X"}}):
            with pytest.warns(UserWarning, match="gone-plugin 1.0: cannot list its recipes/ files.*'gone_pkg' not found"):
                assert locate("demo").name == "demo.yaml"
            with pytest.warns(UserWarning, match="gone-plugin"):
                assert main(["recipes"]) == 0
            assert "good-recipes" in capsys.readouterr().out
            monkeypatch.setenv("INRIA_STRICT_PLUGINS", "1")
            with pytest.raises(InriaError, match="gone-plugin 1.0: cannot list its recipes/"):
                available_recipes()


def test_recipes_and_locate_import_neither_torch_nor_a_plugin():
    import subprocess

    code = ("import sys, contextlib, io\nfrom inria.cli import main\nfrom inria.recipe import available_recipes, locate\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['recipes'])\n"
            "for r in available_recipes():\n    locate(r.qualified)\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('torch', 'faiss', 'timm') or m.startswith('inria_')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
