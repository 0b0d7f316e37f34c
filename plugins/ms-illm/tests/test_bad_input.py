"""Bad bitstreams, images and checkpoints: one-line InriaError each, never a crash, a hang or a huge allocation."""
import time

import pytest
import torch

from inria.bitstream import pack, unpack
from inria.errors import InriaError
from inria_ms_illm.header import to_meta


@pytest.fixture(scope="module")
def stream(tiny, photo):
    return tiny.compress(photo)


def _one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text and len(text) < 400
    return text


def test_truncated_streams(tiny, stream):
    for cut in range(0, len(stream), 7):
        with pytest.raises(InriaError, match="truncated|corrupt") as e:
            tiny.decompress(stream[:cut])
        _one_line(e)


def test_every_flipped_byte_is_caught(tiny, stream):
    for i in range(len(stream)):
        bad = bytearray(stream)
        bad[i] ^= 0x10
        with pytest.raises(InriaError) as e:
            tiny.decompress(bytes(bad))
        _one_line(e)


def test_random_bytes_and_wrong_types(tiny):
    rng = torch.Generator().manual_seed(0)
    for n in (1, 20, 300, 5000):
        junk = bytes(torch.randint(0, 256, (n,), generator=rng, dtype=torch.uint8).tolist())
        with pytest.raises(InriaError) as e:
            tiny.decompress(junk)
        _one_line(e)
    with pytest.raises(InriaError, match="must be bytes"):
        tiny.decompress("not bytes")


def test_forged_payload_with_a_valid_crc_does_not_crash_or_hang(tiny, stream):
    """The CRC is not a defence against a forger: the rANS input is still bounded (zero-padded)."""
    box = unpack(stream)
    rng = torch.Generator().manual_seed(1)
    for fill in ("ones", "random", "short"):
        n = 3 if fill == "short" else len(box.payload)
        payload = (b"\xff" * n if fill == "ones" else
                   bytes(torch.randint(0, 256, (n,), generator=rng, dtype=torch.uint8).tolist()))
        hyper = 1 if fill == "short" else len(payload) // 3
        forged = pack(payload, box.height, box.width, box.model_id,
                      to_meta(box.height, box.width, box.model_id, hyper, payload))
        start = time.perf_counter()
        out = tiny.decompress(forged)  # garbage image, but an image of the right size
        assert out.shape == (3, box.height, box.width) and torch.isfinite(out).all()
        assert time.perf_counter() - start < 10


def test_huge_size_in_the_header_is_refused_before_allocating(tiny, stream):
    box = unpack(stream)
    meta = to_meta(65535, 65535, box.model_id, 1, box.payload)
    with pytest.raises(InriaError, match="max_pixels") as e:
        tiny.decompress(pack(box.payload, 65535, 65535, box.model_id, meta))
    _one_line(e)


def test_header_version_and_lengths(tiny, stream):
    box = unpack(stream)
    for meta, msg in [(bytes([7]) + box.meta[1:], "unknown noganms header version 7"),
                      (box.meta[:-1], "corrupt noganms header"),
                      (box.meta[:1] + (10 ** 6).to_bytes(4, "little") + box.meta[5:], "hyper-latent length")]:
        with pytest.raises(InriaError, match=msg) as e:
            tiny.decompress(pack(box.payload, box.height, box.width, box.model_id, meta))
        _one_line(e)


def test_stream_of_another_model_or_codec(tiny, tiny_other, stream, photo):
    import inria

    with pytest.raises(InriaError, match=f"made by model {tiny.model_id.hex()}.*is model {tiny_other.model_id.hex()}"):
        tiny_other.decompress(stream)
    jpeg = inria.create("codec", "jpeg").compress(photo)
    with pytest.raises(InriaError, match="not an inria bitstream") as e:
        tiny.decompress(jpeg)
    _one_line(e)


def test_bad_images(tiny):
    cases = [(torch.rand(4, 8, 8), "RGBA"), (torch.rand(1, 8, 8), "grayscale"), (torch.rand(2, 3, 8, 8), "batch of 2"),
             (torch.full((3, 8, 8), float("nan")), "NaN"), (torch.rand(3, 8, 8) * 255, "expects \\[0, 1\\]"),
             (torch.zeros(3, 8, 8, dtype=torch.uint8), "dtype"), ([1, 2], "not list")]
    for image, msg in cases:
        with pytest.raises(InriaError, match=msg) as e:
            tiny.compress(image)
        _one_line(e)
    with pytest.raises(InriaError, match="max_pixels"):
        tiny.with_overrides(max_pixels=100).compress(torch.rand(3, 20, 20))


def test_checkpoint_of_another_architecture(tiny_dir, tmp_path):
    import inria
    from inria_ms_illm.codec import load_into
    from inria_ms_illm.hific import HiFiCAutoencoder
    from inria.modeldir import load_weights

    with pytest.raises(InriaError, match="another architecture.*wrong shape") as e:
        load_into(HiFiCAutoencoder((4, 4, 8, 8, 16), 8, 8, 1), load_weights(tiny_dir), where="x")
    _one_line(e)
    with pytest.raises(InriaError, match="the model in .* has widths=\\[4, 4, 8, 8, 8\\]"):
        inria.create("codec", "noganms", checkpoint=str(tiny_dir), widths=[4, 4, 8, 8, 16])
    pq = inria.create("codec", "pq_mim", checkpoint="", mim_depth=1).save(tmp_path / "pq")
    with pytest.raises(InriaError, match="'pq_mim' model") as e:
        inria.create("codec", "noganms", checkpoint=str(pq))
    _one_line(e)
    with pytest.raises(InriaError, match="not a HiFiC autoencoder state dict") as e:
        inria.create("codec", "ms_illm", official=str(pq / "weights.safetensors"))
    _one_line(e)
    with pytest.raises(InriaError, match="not a model directory"):
        inria.create("codec", "noganms", checkpoint=str(tmp_path / "missing"))
