"""First test of any plugin: the core finds it by name, from its entry points."""
import inria
import pytest
from inria.interfaces import Codec, Watermarker


def test_codecs_and_watermarker_are_discovered():
    assert {"jpeg", "webp"} <= set(inria.available("codec"))
    assert "dwt_dct" in inria.available("watermarker")


def test_create_builds_a_configured_codec():
    codec = inria.create("codec", "jpeg", quality=50)
    assert isinstance(codec, Codec) and codec.config.quality == 50
    assert isinstance(inria.create("codec", "webp", target_bpp=0.5), Codec)
    assert isinstance(inria.create("watermarker", "dwt_dct", bits=48), Watermarker)


@pytest.mark.parametrize("interface, name, config, words", [
    ("codec", "jpeg", {"quality": 500}, ["jpeg", "quality 500", "1..100"]),
    ("codec", "webp", {"quality": 0}, ["webp", "quality 0", "1..100"]),
    ("codec", "webp", {"method": 7}, ["method 7", "0..6"]),
    ("codec", "jpeg", {"target_bpp": -1}, ["target_bpp -1", "> 0"]),
    ("codec", "jpeg", {"subsampling": "4:2:1"}, ["subsampling", "did you mean '4:2:2'"]),
    ("codec", "jpeg", {"qualty": 50}, ["unknown key 'qualty'", "did you mean 'quality'"]),
    ("watermarker", "dwt_dct", {"bits": 0}, ["bits 0", "1..1024"]),
    ("watermarker", "dwt_dct", {"method": "rivaGan", "bits": 48}, ["rivaGan", "bits 32"]),
    ("watermarker", "dwt_dct", {"method": "dwtdct"}, ["did you mean 'dwtDct'"]),
    ("watermarker", "dwt_dct", {"fpr": 2}, ["fpr 2", "0 < fpr < 1"]),
])
def test_bad_config_is_one_line_naming_field_and_accepted_values(interface, name, config, words):
    with pytest.raises(inria.InriaError) as err:
        inria.create(interface, name, **config)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_describe_lists_config_and_verbs():
    text = inria.describe("jpeg")
    assert "inria-plugin-classic" in text and "subsampling" in text and "evaluate(" in text
