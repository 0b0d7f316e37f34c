"""registry.yaml lists exactly what each first-party plugin registers, and every plugin folder is in it."""
import tomllib
from pathlib import Path

from inria.registry import catalog, get_registry

ROOT = Path(__file__).resolve().parents[1]


def test_catalog_matches_plugin_pyprojects():
    folders = {p.parent.name: p for p in (ROOT / "plugins").glob("*/pyproject.toml")}
    entries = {p["distribution"]: p for p in catalog()["plugins"]}
    assert {p["folder"] for p in entries.values()} == {f"plugins/{name}" for name in folders}
    for name, path in folders.items():
        project = tomllib.loads(path.read_text())["project"]
        declared = {g.removeprefix("inria."): sorted(eps) for g, eps in project.get("entry-points", {}).items()
                    if g.startswith("inria.") and g != "inria.hooks" and g != "inria.commands"}
        listed = {g: sorted(v) for g, v in entries[project["name"]]["provides"].items()}
        assert declared == listed, project["name"]
        assert any(d.replace(" ", "").startswith("inria>=") for d in project["dependencies"]), project["name"]
        assert (path.parent / "README.md").is_file() and (path.parent / "tests" / "test_discovery.py").is_file()


def test_catalog_matches_installed_entry_points():
    reg = get_registry()
    for plugin in catalog()["plugins"]:
        installed = {}
        for e in reg.entries():
            if e.distribution.lower() == plugin["distribution"]:
                if e.group not in ("hooks", "commands"):
                    installed.setdefault(e.group, []).append(e.name)
        assert {g: sorted(v) for g, v in installed.items()} == {g: sorted(v) for g, v in plugin["provides"].items()}, \
            plugin["distribution"]
