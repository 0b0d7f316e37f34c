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
    # discovery + behaviour, + the demo recipe found by name where the scaffold ships one
    assert f"{3 if interface in ('codec', 'watermarker', 'backbone') else 2} passed" in proc.stdout


def test_scaffold_refuses_existing_folder_and_bad_names(tmp_path):
    new_plugin("dup", "codec", tmp_path)
    with pytest.raises(InriaError, match="already exists"):
        new_plugin("dup", "codec", tmp_path)
    with pytest.raises(InriaError, match="lower case"):
        new_plugin("Bad-Name", "codec", tmp_path)
    with pytest.raises(InriaError, match="unknown interface"):
        new_plugin("ok", "codecs", tmp_path)
