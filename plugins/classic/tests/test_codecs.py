"""jpeg and webp: real files, rate control, rate-distortion sweeps, errors."""
import io

import inria
import numpy as np
import pytest
import torch
from inria.context import StepContext
from inria.eval.metrics import psnr
from PIL import Image, JpegImagePlugin

FORMATS = {"jpeg": "JPEG", "webp": "WEBP"}


@pytest.mark.parametrize("name", FORMATS)
def test_bytes_are_the_real_file_and_decode_back(name, astronaut):
    codec = inria.create("codec", name, quality=90)
    data = codec.compress(astronaut)
    with Image.open(io.BytesIO(data)) as f:  # any reader opens it: no container around the file
        assert f.format == FORMATS[name] and f.size == (256, 256)
    out = codec.decompress(data)
    assert out.shape == (3, 256, 256) and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    assert psnr(astronaut, out)[0] > 30


@pytest.mark.parametrize("name", FORMATS)
def test_quality_sweep_raises_rate_and_fidelity(name, photos, tmp_path):
    codec = inria.create("codec", name)
    result = codec.evaluate_step(StepContext.standalone(tmp_path), list(photos), sweep={"quality": [10, 50, 90]})
    rd = result["metrics"]["rd"]
    assert [p["params"]["quality"] for p in rd] == [10, 50, 90]
    bpp = [p["bpp"] for p in rd]
    quality = [p["psnr"] for p in rd]
    assert bpp[0] < bpp[1] < bpp[2], bpp
    assert quality[0] < quality[1] < quality[2], quality
    # bpp is counted from the real bytes: the same files, measured here
    for point in rd:
        files = [codec.with_overrides(**point["params"]).compress(im) for im in photos]
        assert point["bpp_per_image"] == [len(f) * 8 / (256 * 256) for f in files]


@pytest.mark.parametrize("name", FORMATS)
def test_target_bpp_picks_the_largest_quality_within_budget(name, astronaut):
    codec = inria.create("codec", name, target_bpp=0.5)
    quality, data = codec.search_quality(Image.fromarray((astronaut.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)))
    assert codec.compress(astronaut) == data
    assert len(data) * 8 / (256 * 256) <= 0.5
    above = codec.with_overrides(target_bpp=None, quality=quality + 1).compress(astronaut)
    assert len(above) * 8 / (256 * 256) > 0.5  # one step up no longer fits
    # a budget no quality fits: the quality-1 file, the smallest there is
    tiny = codec.with_overrides(target_bpp=0.01)
    assert tiny.compress(astronaut) == codec.with_overrides(target_bpp=None, quality=1).compress(astronaut)


def test_jpeg_subsampling_is_written_in_the_file(astronaut):
    files = {s: inria.create("codec", "jpeg", quality=75, subsampling=s).compress(astronaut) for s in ("4:2:0", "4:4:4")}
    with Image.open(io.BytesIO(files["4:2:0"])) as a, Image.open(io.BytesIO(files["4:4:4"])) as b:
        assert JpegImagePlugin.get_sampling(a) == 2 and JpegImagePlugin.get_sampling(b) == 0
    assert len(files["4:4:4"]) > len(files["4:2:0"])  # full-resolution chroma costs bits


def test_webp_method_changes_the_encoding(astronaut):
    fast, slow = (inria.create("codec", "webp", quality=50, method=m).compress(astronaut) for m in (0, 6))
    assert fast != slow
    assert psnr(astronaut, inria.create("codec", "webp").decompress(fast))[0] > 25


def test_with_overrides_keeps_the_other_fields(astronaut):
    codec = inria.create("codec", "jpeg", quality=20, subsampling="4:4:4")
    variant = codec.with_overrides(quality=80)
    assert type(variant) is type(codec) and variant.config.subsampling == "4:4:4" and variant.config.quality == 80
    assert len(variant.compress(astronaut)) > len(codec.compress(astronaut))


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("size", [(1, 1), (17, 33)])
def test_odd_sizes_round_trip(name, size):
    image = torch.rand(3, *size)
    codec = inria.create("codec", name)
    assert codec.decompress(codec.compress(image)).shape == (3, *size)


def test_verbs_compress_and_decompress(photos, tmp_path):
    codec = inria.create("codec", "jpeg", quality=50)
    ctx = StepContext.standalone(tmp_path)
    out = codec.compress_step(ctx, list(photos))
    assert out["metrics"]["bpp"] == pytest.approx(np.mean([len(s) * 8 / 256**2 for s in out["bitstreams"]]))
    images = codec.decompress_step(ctx, out["bitstreams"])["images"]
    assert len(images) == 3 and images[0].shape == (3, 256, 256)


def test_save_and_load_keep_the_config(tmp_path, astronaut):
    codec = inria.create("codec", "webp", quality=33, method=2)
    loaded = type(codec).load(codec.save(tmp_path / "model"))
    assert loaded.config == codec.config and loaded.compress(astronaut) == codec.compress(astronaut)


@pytest.mark.parametrize("bad, words", [
    (torch.rand(1, 3, 8, 8), "shape (1, 3, 8, 8)"),
    (torch.rand(8, 8, 3), "shape (8, 8, 3)"),
    (torch.zeros(3, 8, 8, dtype=torch.uint8), "torch.uint8"),
    (torch.full((3, 8, 8), float("nan")), "NaN"),
    (np.zeros((3, 8, 8), np.float32), "ndarray"),
])
def test_compress_refuses_what_is_not_one_float_image(bad, words):
    with pytest.raises(inria.InriaError) as err:
        inria.create("codec", "jpeg").compress(bad)
    message = str(err.value)
    assert "\n" not in message and words in message and "accepted: one RGB image" in message and "(3, H, W)" in message


def test_webp_refuses_sides_it_cannot_store():
    with pytest.raises(inria.InriaError, match="sides up to 16383"):
        inria.create("codec", "webp").compress(torch.rand(3, 1, 16384))


@pytest.mark.parametrize("name", FORMATS)
def test_decompress_refuses_other_bytes_in_one_line(name, astronaut):
    codec = inria.create("codec", name)
    other = inria.create("codec", "webp" if name == "jpeg" else "jpeg").compress(astronaut)
    for data, words in [(b"hello", f"not a {FORMATS[name]} file"), (b"", f"not a {FORMATS[name]} file"),
                        (other, f"not a {FORMATS[name]} file"),
                        (codec.compress(astronaut)[:300], "corrupt or truncated")]:
        with pytest.raises(inria.InriaError) as err:
            codec.decompress(data)
        assert words in str(err.value) and "\n" not in str(err.value)
