"""`inria new-plugin` makes a package that installs, is discovered, and passes its own tests."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inria.errors import InriaError
from inria.scaffold import new_plugin


def _dist_info(target: Path, plugin: Path) -> None:
    """What `pip install` would write, without the minutes of a real install."""
    import tomllib

    meta = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    info = target / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    reqs = "".join(f"Requires-Dist: {r}\n" for r in meta["dependencies"])
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n{reqs}")
    eps = "".join(f"[{g}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) for g, items in meta["entry-points"].items())
    (info / "entry_points.txt").write_text(eps)


@pytest.mark.parametrize("interface", ["codec", "index", "watermarker", "curator", "backbone"])
def test_scaffold_is_discovered_and_its_tests_pass(tmp_path, interface):
    plugin = new_plugin(f"my_{interface}", interface, tmp_path)
    site = tmp_path / "site"
    _dist_info(site, plugin)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(plugin / "src")]), INRIA_STRICT_PLUGINS="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(plugin / "tests")],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # discovery + behaviour (+ bad input for codec and watermarker), + the demo recipe found by name where shipped
    expected = {"codec": 4, "watermarker": 4, "backbone": 3, "index": 2, "curator": 2}[interface]
    assert f"{expected} passed" in proc.stdout


@pytest.mark.parametrize("interface", ["codec", "index", "watermarker", "curator", "backbone"])
def test_scaffold_passes_flake8(tmp_path, interface):
    plugin = new_plugin(f"my_{interface}", interface, tmp_path)
    assert len(list(plugin.rglob("*.py"))) >= 3
    proc = subprocess.run([sys.executable, "-m", "flake8", "--isolated", str(plugin)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dist_name_apart_from_the_implementation_name(tmp_path):
    plugin = new_plugin("acme_downscale", "codec", tmp_path, dist="inria-plugin-acme")
    assert plugin == tmp_path / "acme"
    assert (plugin / "src/inria_acme/acme_downscale.py").is_file()
    text = (plugin / "pyproject.toml").read_text()
    assert 'name = "inria-plugin-acme"' in text
    assert 'acme_downscale = "inria_acme.acme_downscale:AcmeDownscale"' in text
    site = tmp_path / "site"
    _dist_info(site, plugin)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(plugin / "src")]), INRIA_STRICT_PLUGINS="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(plugin / "tests")],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0 and "4 passed" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    # the CLI flag reaches it; bad distribution names are one-line errors
    out = subprocess.run([sys.executable, "-m", "inria", "new-plugin", "acme_blur", "--interface", "codec",
                          "--dist", "inria-plugin-acme-blur", "--dir", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0 and (tmp_path / "acme-blur/src/inria_acme_blur/acme_blur.py").is_file(), out.stderr
    for bad in ("Inria-Plugin-Acme", "inria-plugin-", "inria--x", "inria-plugin-9x"):
        with pytest.raises(InriaError, match="--dist: distribution name .* must be lower case"):
            new_plugin("x", "codec", tmp_path, dist=bad)


def test_watermarker_scaffold_bad_input(tmp_path):
    """The scaffold's embed without messages and bits=0 are one-line InriaErrors, not a TypeError or a 0 division."""
    import importlib.util

    import torch

    plugin = new_plugin("lsb", "watermarker", tmp_path)
    source = (plugin / "src/inria_lsb/lsb.py").read_text()
    assert "blue channel" in source and "8x8" not in source  # the docstrings say what the code does
    spec = importlib.util.spec_from_file_location("scaffold_lsb", plugin / "src/inria_lsb/lsb.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    wm = mod.Lsb(bits=8)
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(InriaError, match="embed needs messages"):
        wm.embed(x)
    with pytest.raises(InriaError, match=r"messages have shape \(2, 4\), expected \(2, 8\)"):
        wm.embed(x, wm.random_messages(2)[:, :4])
    with pytest.raises(InriaError, match="bits 0 must be >= 1"):
        mod.Lsb(bits=0)
    with pytest.raises(InriaError, match="an image of 4 pixels cannot hold 8 bits"):
        wm.detect(torch.rand(1, 3, 2, 2))
    marked, msg = wm.embed(x, wm.random_messages(2))
    assert (wm.detect(marked, msg).bits == msg).all()


def test_scaffold_refuses_existing_folder_and_bad_names(tmp_path):
    new_plugin("dup", "codec", tmp_path)
    with pytest.raises(InriaError, match="already exists"):
        new_plugin("dup", "codec", tmp_path)
    with pytest.raises(InriaError, match="lower case"):
        new_plugin("Bad-Name", "codec", tmp_path)
    with pytest.raises(InriaError, match="unknown interface"):
        new_plugin("ok", "codecs", tmp_path)
