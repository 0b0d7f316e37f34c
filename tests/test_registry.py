import subprocess
import sys
import os

import pytest

import inria
from inria.errors import InriaError
from inria.registry import get_registry
from inria.testing import fake_plugin, write_fake_plugin




def test_discovery_create_and_describe(tmp_path, fake_codecs):
    with fake_codecs(tmp_path):
        assert "fakejpeg" in inria.available("codec")
        codec = inria.create("codec", "fakejpeg", quality=30)
        assert codec.config.quality == 30 and type(codec).name == "fakejpeg"
        text = inria.describe("fakejpeg")
        assert "fake-codecs" in text and "quality: int = 50" in text and "compress(" in text


def test_unknown_name_suggests_and_hints(tmp_path, fake_codecs):
    with fake_codecs(tmp_path):
        with pytest.raises(InriaError, match="unknown codec 'fakejpg'; did you mean 'fakejpeg'"):
            inria.create("codec", "fakejpg")
    from inria import registry

    fake_catalog = {"plugins": [{"distribution": "inria-plugin-nope", "provides": {"codec": ["nope_codec"]}}]}
    original = registry.catalog
    registry.catalog = lambda: fake_catalog
    try:
        with pytest.raises(InriaError, match="'nope_codec' is provided by inria-plugin-nope, which is not installed: "
                                             "pip install inria-plugin-nope"):
            inria.create("codec", "nope_codec")
    finally:
        registry.catalog = original


def test_bad_config_is_one_line(tmp_path, fake_codecs):
    with fake_codecs(tmp_path):
        with pytest.raises(InriaError, match="quality 500 is outside 1..100"):
            inria.create("codec", "fakejpeg", quality=500)


def test_listing_does_not_import_plugins(tmp_path, fake_codecs):
    with fake_codecs(tmp_path) as path:
        get_registry().names("codec")
        assert "fake_codec_mod" not in sys.modules


def test_a_broken_plugin_does_not_stop_the_others(tmp_path, fake_codecs, monkeypatch):
    monkeypatch.delenv("INRIA_STRICT_PLUGINS", raising=False)  # make test sets it; this test tries both modes
    with fake_codecs(tmp_path / "good"):
        with fake_plugin(tmp_path / "bad", "broken-plugin",
                         entry_points={"inria.codec": {"broken": "broken_mod:X"}, "inria.hooks": {"broken": "broken_mod"}},
                         files={"broken_mod.py": "raise ImportError('missing dependency zzz')\n"}):
            assert inria.create("codec", "fakejpeg").config.quality == 50
            with pytest.raises(InriaError, match="broken-plugin 1.0 failed to import codec 'broken'.*zzz"):
                inria.create("codec", "broken")
            from inria.hooks import plugin_manager, reset_plugin_manager

            reset_plugin_manager()
            with pytest.warns(UserWarning, match="broken-plugin"):
                plugin_manager()
            reset_plugin_manager()
            monkeypatch.setenv("INRIA_STRICT_PLUGINS", "1")
            try:
                with pytest.raises(InriaError, match="broken-plugin"):
                    plugin_manager()
            finally:
                reset_plugin_manager()


def test_same_name_twice_is_an_error_and_dist_name_picks(tmp_path, fake_codecs):
    with fake_codecs(tmp_path / "a", name="first-dist"):
        with fake_codecs(tmp_path / "b", name="second-dist"):
            with pytest.raises(InriaError, match="provided twice, by (first|second)-dist and (first|second)-dist"):
                inria.create("codec", "fakejpeg")
            assert inria.create("codec", "second-dist:fakejpeg").config.quality == 50


def test_incompatible_api_is_refused_naming_both_versions(tmp_path, fake_codecs):
    with fake_codecs(tmp_path, requires_inria=">=9.0,<10"):
        entry = get_registry().find("codec", "fakejpeg")
        assert entry.status().startswith("incompatible")
        with pytest.raises(InriaError, match=r"supports inria>=9.0,<10, but inria 0.1.0 is installed"):
            inria.create("codec", "fakejpeg")


def test_hooks_are_called(tmp_path, fake_codecs):
    src = '''
from inria.hooks import hookimpl
CALLS = []
@hookimpl
def inria_attacks():
    return {"invert": lambda x, s: 1 - x}
'''
    with fake_plugin(tmp_path, "attack-plugin", entry_points={"inria.hooks": {"inv": "inv_hooks"}},
                     files={"inv_hooks.py": src}):
        import torch

        from inria.ops.attacks import apply

        x = torch.rand(1, 3, 8, 8)
        assert torch.allclose(apply("invert", x), 1 - x)


def test_cli_plugins_json_and_check(tmp_path, fake_codecs):
    root = write_fake_plugin(tmp_path, "fake-codecs", entry_points={"inria.codec": {"fakejpeg": "fake_codec_mod:FakeJpeg"}},
                             files={"fake_codec_mod.py": "raise ImportError('no zzz')\n"})
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-m", "inria", "plugins", "--json"], capture_output=True, text=True, env=env)
    import json

    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["fakejpeg"]["status"] == "installed" and rows["fakejpeg"]["distribution"] == "fake-codecs"
    out = subprocess.run([sys.executable, "-m", "inria", "plugins", "--json", "--check"], capture_output=True, text=True, env=env)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert "no zzz" in rows["fakejpeg"]["status"] and out.returncode == 1


def test_help_and_plugins_do_not_import_torch():
    code = ("import sys; from inria.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['plugins'])\n"
            "    try: main(['--help'])\n"
            "    except SystemExit: pass\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'faiss', 'timm') or m.startswith('inria_')]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
