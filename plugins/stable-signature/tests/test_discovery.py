import inria


def test_plugin_is_discovered():
    names = inria.available("watermarker")
    assert "stable_signature" in names and "hidden" in names


def test_create_builds_both():
    ss = inria.create("watermarker", "stable_signature")
    hd = inria.create("watermarker", "hidden", bits=48)
    assert ss.bits == 48 and hd.bits == 48
    assert {"fit", "embed", "detect", "evaluate"} <= set(type(ss).verbs())
    assert {"fit", "embed", "detect", "evaluate"} <= set(type(hd).verbs())


def test_objectives_are_registered():
    from inria.registry import get_registry

    names = get_registry().names("objectives")
    assert "hidden_message" in names and "stable_signature_decoder" in names


def test_unknown_config_key_is_one_line():
    import pytest

    with pytest.raises(inria.InriaError, match="fpr"):
        inria.create("watermarker", "stable_signature", fprr=1e-6)
