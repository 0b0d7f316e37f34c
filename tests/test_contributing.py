"""CONTRIBUTING.md's snippets run as written: its plugin (toml, module, hooks, tests) installs and passes its tests.

A fenced block preceded by ``<!-- file: PATH -->`` is a file of the plugin the
page builds (``src/...`` modules, ``tests/...`` tests); ``<!-- not run: why -->``
exempts a block; any other ``python`` block is executed as is in a temporary
folder. The ``toml`` blocks give the distribution's name, its ``inria`` range
and its entry points.
"""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from inria.testing import write_fake_plugin

PAGE = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"
BLOCK = re.compile(r"(?:<!-- (?P<marker>file|not run): *(?P<arg>.*?) *-->\n)?```(?P<lang>[a-z]*)\n(?P<body>.*?)^```",
                   re.S | re.M)


def blocks():
    return [m.groupdict() for m in BLOCK.finditer(PAGE.read_text())]


def test_the_page_has_a_plugin_to_build():
    found = blocks()
    files = {b["arg"] for b in found if b["marker"] == "file"}
    assert "src/inria_my_codec/my_codec.py" in files and any(f.startswith("tests/") for f in files)
    assert all(b["lang"] == "python" for b in found if b["marker"] == "file")
    assert sum(b["lang"] == "toml" for b in found) >= 2


def _plugin():
    """(distribution, inria range, entry points, {module path: source}) that the page's blocks describe."""
    found = blocks()
    dist, requires, entry_points = None, None, {}
    for b in found:
        if b["lang"] != "toml" or b["marker"] == "not run":
            continue
        doc = tomllib.loads(b["body"]).get("project", {})
        if "name" in doc:
            dist = doc["name"]
            requires = next(d[len("inria"):] for d in doc.get("dependencies", []) if d.startswith("inria"))
        for group, items in doc.get("entry-points", {}).items():
            entry_points.setdefault(group, {}).update(items)
    modules = {b["arg"].removeprefix("src/"): b["body"] for b in found
               if b["marker"] == "file" and b["arg"].startswith("src/")}
    for rel in list(modules):
        modules.setdefault(str(Path(rel).parent / "__init__.py"), "")
    return dist, requires, entry_points, modules


def test_unmarked_python_blocks_run_with_the_plugin_installed(tmp_path, monkeypatch, capsys):
    from inria.testing import fake_plugin

    dist, requires, entry_points, modules = _plugin()
    runnable = [b for b in blocks() if b["lang"] == "python" and b["marker"] is None]
    assert runnable
    monkeypatch.chdir(tmp_path)
    with fake_plugin(tmp_path / "site", dist, requires_inria=requires, entry_points=entry_points, files=modules):
        for b in runnable:
            exec(compile(b["body"], f"{PAGE.name} block", "exec"), {"__name__": "__contributing__"})
    assert re.search(r"^\d+\.\d\d bpp$", capsys.readouterr().out, re.M)


def test_the_plugin_the_page_writes_installs_and_passes_its_tests(tmp_path):
    found = blocks()
    dist, requires, entry_points, modules = _plugin()
    assert dist == "inria-plugin-my-codec" and requires and {"inria.codec", "inria.hooks"} <= set(entry_points)
    # every entry point names a module the page writes
    for items in entry_points.values():
        for value in items.values():
            assert value.split(":")[0].replace(".", "/") + ".py" in modules, value
    site = write_fake_plugin(tmp_path / "site", dist, requires_inria=requires, entry_points=entry_points,
                             files=modules)

    tests = tmp_path / "plugin" / "tests"
    n_tests = 0
    for b in found:
        if b["marker"] == "file" and b["arg"].startswith("tests/"):
            (tests / Path(b["arg"]).relative_to("tests")).parent.mkdir(parents=True, exist_ok=True)
            (tests / Path(b["arg"]).relative_to("tests")).write_text(b["body"])
            n_tests += len(re.findall(r"^def test_", b["body"], re.M))
    assert n_tests >= 4
    env = dict(os.environ, PYTHONPATH=str(site), INRIA_STRICT_PLUGINS="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0 and f"{n_tests} passed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
