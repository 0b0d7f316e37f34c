"""Bad bitstreams and odd images: one-line InriaError each, never a hang or a crash."""
import pytest
import torch

from inria.bitstream import FORMAT_VERSION, pack, unpack
from inria.errors import InriaError


@pytest.fixture(scope="module")
def stream(tiny, photo):
    return tiny.compress(photo)


def _one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text and len(text) < 300
    return text


def test_truncated_bitstream(tiny, stream):
    for cut in (0, 5, len(stream) // 2, len(stream) - 1):
        with pytest.raises(InriaError, match="truncated|corrupt") as e:
            tiny.decompress(stream[:cut])
        _one_line(e)


def test_random_bytes(tiny):
    rng = torch.Generator().manual_seed(0)
    for n in (1, 20, 300, 5000):
        junk = bytes(torch.randint(0, 256, (n,), generator=rng, dtype=torch.uint8).tolist())
        with pytest.raises(InriaError) as e:
            tiny.decompress(junk)
        _one_line(e)
    with pytest.raises(InriaError, match="must be bytes"):
        tiny.decompress("not bytes")


def test_bitstream_from_another_model_names_both_hashes(tiny, tiny_other, stream):
    assert tiny_other.model_id != tiny.model_id
    with pytest.raises(InriaError, match=f"made by model {tiny.model_id.hex()}.*is model {tiny_other.model_id.hex()}") as e:
        tiny_other.decompress(stream)
    _one_line(e)


def test_unknown_format_version(tiny, stream):
    bad = stream[:3] + bytes([FORMAT_VERSION + 1]) + stream[4:]
    with pytest.raises(InriaError, match=f"unknown bitstream format version {FORMAT_VERSION + 1}") as e:
        tiny.decompress(bad)
    _one_line(e)


def test_unknown_header_version_and_corrupt_header(tiny, stream):
    box = unpack(stream)
    for meta, msg in [(bytes([9]) + box.meta[1:], "unknown pq_mim header version 9"),
                      (box.meta[:1] + bytes([99]) + box.meta[2:], "active sub-quantizers 99"),
                      (box.meta[:3] + bytes([200]) + box.meta[4:], "groups sent 200"),
                      (box.meta[:4] + bytes([0x80]) + box.meta[5:], "flags"),
                      (box.meta[:-1], "corrupt pq_mim header")]:
        with pytest.raises(InriaError, match=msg) as e:
            tiny.decompress(pack(box.payload, box.height, box.width, box.model_id, meta))
        _one_line(e)


def test_flipped_payload_bits_are_caught_by_the_checksum(tiny, stream):
    box = unpack(stream)
    caught = 0
    for i in range(0, len(box.payload), max(1, len(box.payload) // 8)):
        payload = bytearray(box.payload)
        payload[i] ^= 0x5A
        try:
            tiny.decompress(pack(bytes(payload), box.height, box.width, box.model_id, box.meta))
        except InriaError as e:
            assert "checksum" in str(e) or "corrupt" in str(e)
            caught += 1
    assert caught >= 6  # a 16-bit checksum misses 1 in 65536


def test_wrong_image_size_in_header(tiny, stream):
    box = unpack(stream)
    with pytest.raises(InriaError) as e:  # a bigger grid than was coded: desynchronised, caught
        tiny.decompress(pack(box.payload, box.height * 3, box.width * 3, box.model_id, box.meta))
    _one_line(e)


@pytest.mark.slow
def test_4000x3000_image_roundtrips_in_bounded_memory(tiny_config):
    """The encoder/decoder run in tiles, the transformer per mim_tile: memory stays bounded."""
    import inria

    torch.manual_seed(0)
    cfg = {**tiny_config, "downsampling": 16, "channels": [4, 8, 8, 16], "mim_tile": 8}
    codec = inria.create("codec", "pq_mim", **cfg)
    x = torch.rand(3, 3000, 4000)
    data = codec.compress(x)
    y = codec.decompress(data)
    assert y.shape == (3, 3000, 4000)
