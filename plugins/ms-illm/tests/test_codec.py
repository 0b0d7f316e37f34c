"""Real bytes, exact latents, determinism, save/load, sizes below the padding unit."""
import subprocess
import sys
import textwrap

import torch

from inria.bitstream import unpack
from inria.eval.metrics import bpp


def _latents(codec, image):
    """What the encoder quantised: round(y - means) + means with the float64 means of the coded hyper-latent."""
    from inria.ops.image import pad_to_multiple

    m = codec.model
    x, _ = pad_to_multiple(image.unsqueeze(0), 64)
    with torch.no_grad():
        y = m.analysis(x)
        z = m.hyper_analysis(y)
        z_hat = m.hyper_bottleneck.decompress(m.hyper_bottleneck.compress(z), z.shape[-2:])
        means = codec._synthesis64()[0](z_hat.double())
    return torch.round(y.double() - means) + means


def test_roundtrip_decodes_the_encoders_latents(tiny, photo):
    data = tiny.compress(photo)
    assert isinstance(data, bytes) and bpp(data, photo) == len(data) * 8 / (70 * 100)
    box = unpack(data, expect_model=tiny.model_id)
    assert (box.height, box.width) == (70, 100)
    out = tiny.decompress(data)
    assert out.shape == photo.shape and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    with torch.no_grad():
        expected = tiny.model.synthesis(_latents(tiny, photo).float())[0, :, :70, :100].clamp(0, 1)
    assert torch.equal(out, expected)


def test_compress_is_deterministic_and_bytes_match_the_model_likelihood(tiny, photo):
    from inria.ops.image import pad_to_multiple

    data = tiny.compress(photo)
    assert data == tiny.compress(photo)
    assert tiny.compress(torch.full_like(photo, 0.5)) != data
    with torch.no_grad():
        out = tiny.model.eval()(pad_to_multiple(photo[None], 64)[0])
    bits = sum(float(-torch.log2(p).sum()) for p in out["likelihoods_quantized"])
    payload_bits = len(unpack(data).payload) * 8
    assert bits * 0.9 - 64 < payload_bits < bits * 1.1 + 128  # rANS lands within a few words of the ideal


def test_images_smaller_than_the_padding_unit(tiny):
    for h, w in ((1, 1), (5, 7), (63, 2), (64, 65)):
        image = torch.rand(3, h, w, generator=torch.Generator().manual_seed(h * w))
        out = tiny.decompress(tiny.compress(image))
        assert out.shape == (3, h, w)


def test_batch_of_one_accepted(tiny, photo):
    assert tiny.compress(photo[None]) == tiny.compress(photo)


def test_save_and_load_keep_model_id_and_bytes(tiny, tiny_dir, photo):
    import inria

    again = type(tiny).load(tiny_dir)
    assert again.model_id == tiny.model_id
    assert again.compress(photo) == tiny.compress(photo)
    via_registry = inria.create("codec", "noganms", checkpoint=str(tiny_dir))
    assert via_registry.config.widths == [4, 4, 8, 8, 8]  # adopted from the card
    assert torch.equal(via_registry.decompress(tiny.compress(photo)), tiny.decompress(tiny.compress(photo)))


CHILD = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(int(sys.argv[3]))
    from inria_ms_illm.codec import NoGANMS
    codec = NoGANMS.load(sys.argv[1])
    image = codec.decompress(open(sys.argv[2] + "/s.bin", "rb").read())
    torch.save(image, sys.argv[2] + "/out.pt")
""")


def test_fresh_process_with_two_threads_decodes_the_same_image(tiny, tiny_dir, photo, tmp_path):
    data = tiny.compress(photo)
    (tmp_path / "s.bin").write_bytes(data)
    subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD, str(tiny_dir), str(tmp_path), "2"], check=True,
                   timeout=120)
    assert torch.equal(torch.load(tmp_path / "out.pt"), tiny.decompress(data))
