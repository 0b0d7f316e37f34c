"""Image ops, attack names, metrics against reference values, the codec container, image loading."""
import math

import numpy as np
import pytest
import torch

from inria import bitstream
from inria.errors import InriaError
from inria.eval import metrics
from inria.ops import attacks
from inria.ops import image as ops


def photo(size=64):
    from inria.data.images import samples

    return torch.stack(samples(["astronaut", "coffee"], size=size)[0])


def test_attack_semantics():
    x = photo(64)
    assert attacks.apply("crop_0.5", x).shape[-2:] == (45, 45)  # half the area
    assert attacks.apply("resize_0.5", x).shape[-2:] == (32, 32)  # half the side
    assert attacks.apply("resize_0.5_up", x).shape[-2:] == (64, 64)
    assert attacks.apply("crop_0.5+jpeg_80_up", x).shape[-2:] == (64, 64)
    assert torch.equal(attacks.apply("none", x), x)
    assert torch.allclose(attacks.apply("flip", x), x.flip(-1))
    assert attacks.apply("brightness_1.5", x).mean() > x.mean()
    j50, j90 = attacks.apply("jpeg_50", x), attacks.apply("jpeg_90", x)
    assert metrics.psnr(x, j90).mean() > metrics.psnr(x, j50).mean() > 25
    for name in attacks.PAPER_ATTACKS:
        out = attacks.apply(name, x)
        assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(InriaError, match="unknown attack 'jepg_50'; did you mean 'jpeg'"):
        attacks.parse("jepg_50")


def test_jpeg_ste_forward_is_jpeg_backward_is_identity():
    x = photo(32).requires_grad_(True)
    y = ops.jpeg_ste(x, 50)
    assert torch.allclose(y.detach(), ops.jpeg(x.detach(), 50))
    y.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))


def test_padded_random_crop_takes_windows_of_the_reflect_padded_image():
    x = torch.rand(16, 3, 5, 7)
    assert torch.equal(ops.padded_random_crop(x, 0), x)
    a = ops.padded_random_crop(x, 2, generator=torch.Generator().manual_seed(3))
    b = ops.padded_random_crop(x, 2, generator=torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    # the offsets are the generator's draws (tops then lefts), the windows those of numpy's reflect padding
    g = torch.Generator().manual_seed(3)
    tops, lefts = torch.randint(0, 5, (16,), generator=g), torch.randint(0, 5, (16,), generator=g)
    ref = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    for i, (t, l) in enumerate(zip(tops.tolist(), lefts.tolist())):
        assert np.array_equal(a[i].numpy(), ref[i, :, t:t + 5, l:l + 7])
    assert (tops != 2).any() or (lefts != 2).any()  # not all centred: it does move
    # padding is capped below the side (reflect needs it); a 1-pixel side comes back as is
    assert ops.padded_random_crop(x, 50).shape == x.shape
    one = torch.rand(2, 3, 1, 9)
    assert torch.equal(ops.padded_random_crop(one, 4), one)
    mixed = ops.padded_random_crop([torch.rand(3, 6, 6), torch.rand(3, 4, 8)], 1)
    assert [tuple(im.shape) for im in mixed] == [(3, 6, 6), (3, 4, 8)]


def test_mixed_sizes_are_lists():
    xs = [torch.rand(3, 20, 30), torch.rand(3, 40, 10)]
    out = attacks.apply("crop_0.5", xs)
    assert isinstance(out, list) and out[0].shape[-2:] == (14, 21)


def test_metric_reference_values():
    a = torch.zeros(1, 3, 8, 8)
    b = a + 0.1
    assert metrics.psnr(a, b)[0] == pytest.approx(20.0)  # MSE 0.01 -> 20 dB
    assert metrics.ssim(photo(64), photo(64))[0] == pytest.approx(1.0)
    # Stable Signature: 48 bits, FPR 1e-6 needs 41 matches (p = 3.1e-7), 1e-10 needs 45
    assert metrics.min_matches(48, 1e-6) == 41 and metrics.min_matches(48, 1e-10) == 45
    assert metrics.binomial_pvalue(41, 48) == pytest.approx(3.1202e-7, rel=1e-3)
    from scipy.special import betainc

    assert metrics.binomial_pvalue(30, 48) == pytest.approx(betainc(30, 48 - 30 + 1, 0.5))
    assert metrics.binomial_pvalue(0, 48) == pytest.approx(1.0)
    # SSL watermarking hypercone: p(|cos| >= c) in dimension 2 is 1 - 2*acos(c)/pi... check d=3: p = 1 - c
    assert metrics.cosine_pvalue(0.3, 3) == pytest.approx(0.7)
    c = metrics.cosine_threshold(2048, 1e-6)
    assert metrics.cosine_pvalue(c, 2048) == pytest.approx(1e-6, rel=1e-6)
    assert metrics.bpp(b"\0" * 100, torch.zeros(3, 10, 80)) == pytest.approx(1.0)
    I = np.array([[3, 1, 2], [0, 5, 6]])
    gt = np.array([[1, 9], [7, 8]])
    assert metrics.recall_at_k(I, gt, 1) == 0.0 and metrics.recall_at_k(I, gt, 2) == 0.5
    assert metrics.bit_accuracy(np.array([[1, 0, 1, 1]]), np.array([1, 1, 1, 1]))[0] == 0.75


def test_ms_ssim_only_where_large_enough():
    small = metrics.image_quality(photo(64), photo(64))
    assert "ms_ssim" not in small and small["ssim"] == pytest.approx(1.0)
    big = metrics.image_quality(photo(192), attacks.apply("jpeg_50", photo(192)))
    assert 0.8 < big["ms_ssim"] < 1.0


def test_knn_accuracy():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = np.eye(3)[y] * 5 + rng.normal(size=(60, 3)) * 0.1
    assert metrics.knn_accuracy(x, y, 5) == 1.0
    assert metrics.knn_accuracy(rng.normal(size=(60, 3)), y, 5) < 0.7


def test_container_roundtrip_and_hostile_input():
    data = bitstream.pack(b"payload", 17, 33, b"abcd", meta=b"\x01\x02")
    c = bitstream.unpack(data, expect_model=b"abcd")
    assert (c.height, c.width, c.meta, c.payload) == (17, 33, b"\x01\x02", b"payload")
    for cut in range(len(data)):
        with pytest.raises(InriaError):
            bitstream.unpack(data[:cut])
    with pytest.raises(InriaError, match="made by model 61626364, but this codec is model 00000000"):
        bitstream.unpack(data, expect_model=b"\0" * 4)
    bad_version = data[:3] + bytes([9]) + data[4:]
    with pytest.raises(InriaError, match="unknown bitstream format version 9"):
        bitstream.unpack(bad_version)
    rng = np.random.default_rng(0)
    for _ in range(200):
        junk = rng.integers(0, 256, size=rng.integers(0, 64)).astype(np.uint8).tobytes()
        with pytest.raises(InriaError):
            bitstream.unpack(junk)
    huge_len = data[:12] + b"\xff\xff\xff\xff\x0f"
    with pytest.raises(InriaError, match="truncated"):
        bitstream.unpack(huge_len)
    with pytest.raises(InriaError, match="outside the container"):
        bitstream.pack(b"", 70000, 3)


def test_model_id_changes_with_weights():
    s = {"w": torch.ones(3)}
    assert bitstream.model_id(s) == bitstream.model_id({"w": torch.ones(3)})
    assert bitstream.model_id(s) != bitstream.model_id({"w": torch.ones(3) * 2})


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "LA", "I;16", "1", "CMYK"])
def test_any_image_mode_becomes_rgb(tmp_path, mode):
    from PIL import Image

    from inria.data.images import load_folder

    img = Image.new(mode, (7, 5)) if mode != "I;16" else Image.fromarray(np.full((5, 7), 40000, np.uint16))
    img.save(tmp_path / ("x.tif" if mode in ("I;16", "CMYK") else "x.png"))
    (t,), _ = load_folder(tmp_path)
    assert t.shape == (3, 5, 7) and t.dtype == torch.float32 and 0 <= t.min() <= t.max() <= 1
    if mode == "I;16":
        assert t.mean() == pytest.approx(40000 / 65535, abs=1e-3)


def test_one_pixel_and_digits():
    from inria.data.images import digits

    x = attacks.apply("jpeg_50+crop_0.5+resize_0.5", torch.rand(1, 3, 1, 1))
    assert x.shape == (1, 3, 1, 1)
    tr, ytr = digits("train", size=16)
    te, yte = digits("test", size=16)
    assert tr.shape[1:] == (3, 16, 16) and len(tr) + len(te) == 1797 and len(set(ytr)) == 10
    with pytest.raises(InriaError, match="unknown split"):
        digits("val")


def test_vector_files(tmp_path):
    from inria.data.vectors import load_vectors, write_fvecs

    x = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    write_fvecs(tmp_path / "a.fvecs", x)
    assert np.array_equal(load_vectors(tmp_path / "a.fvecs"), x)
    raw = (tmp_path / "a.fvecs").read_bytes()
    (tmp_path / "b.fvecs").write_bytes(raw[:-3])
    with pytest.raises(InriaError, match="truncated vector file"):
        load_vectors(tmp_path / "b.fvecs")
    (tmp_path / "c.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InriaError, match="corrupt or truncated .npy"):
        load_vectors(tmp_path / "c.npy")
