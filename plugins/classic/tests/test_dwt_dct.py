"""dwt_dct: marks survive on real photos, the test says 'detected' only when p < fpr, errors are one line."""
import sys

import inria
import numpy as np
import pytest
import torch
from inria.context import StepContext
from inria.eval.metrics import image_quality
from inria.ops.attacks import apply


@pytest.fixture(scope="module")
def marked(photos):
    wm = inria.create("watermarker", "dwt_dct")  # dwtDctSvd, 32 bits, fpr 1e-6
    images, messages = wm.embed(photos, wm.random_messages(len(photos), seed=1))
    return wm, images, messages


def test_marks_are_read_back_on_real_photos(marked, photos):
    wm, images, messages = marked
    assert isinstance(images, torch.Tensor) and images.shape == photos.shape and images.dtype == torch.float32
    assert 0 <= float(images.min()) and float(images.max()) <= 1
    assert messages.shape == (3, 32) and messages.dtype == bool
    assert image_quality(photos, images)["psnr"] > 35  # measured 38.1 dB: invisible at a glance
    det = wm.detect(images, messages)
    assert (det.bit_accuracy >= 0.95).all(), det.bit_accuracy
    assert (det.p_value < 1e-6).all() and det.detected.all()
    assert (det.score == (det.bits == messages).sum(1)).all()
    attacked = wm.detect(apply("jpeg_50", images), messages)
    print(f"\ndwt_dct (dwtDctSvd, 32 bits) bit accuracy after jpeg_50: {np.round(attacked.bit_accuracy, 3).tolist()}")
    assert attacked.bit_accuracy.shape == (3,)


def test_unmarked_photos_are_not_detected(marked, photos):
    wm, _, messages = marked
    det = wm.detect(photos, messages)
    assert not det.detected.any() and (det.p_value > 1e-3).all(), det.p_value


def test_without_reference_only_bits_are_decoded(marked):
    wm, images, messages = marked
    det = wm.detect(images)
    assert (det.bits == messages).mean() >= 0.95
    assert det.bit_accuracy is None and np.isnan(det.p_value).all() and not det.detected.any()


def test_library_default_dwtDct_and_other_lengths(astronaut):
    for config in ({"method": "dwtDct"}, {"bits": 8}, {"bits": 48}):
        wm = inria.create("watermarker", "dwt_dct", **config)
        image, message = wm.embed(astronaut)  # one (3, H, W) image in, one out
        assert image.shape == astronaut.shape and message.shape == (1, wm.bits)
        assert wm.detect(image, message[0]).bit_accuracy[0] >= 0.95, config


@pytest.mark.slow  # 2-6 s of ONNX on 2 shared cores; `make test-slow` runs it
def test_rivagan(astronaut):
    wm = inria.create("watermarker", "dwt_dct", method="rivaGan")
    images, messages = wm.embed([astronaut])
    assert isinstance(images, list) and wm.detect(images, messages).detected.all()


def test_rivagan_without_onnxruntime_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(inria.InriaError, match=r"needs onnxruntime.*inria-plugin-classic\[rivagan\]"):
        inria.create("watermarker", "dwt_dct", method="rivaGan")


def test_mixed_sizes_as_a_list(astronaut):
    wm = inria.create("watermarker", "dwt_dct")
    wide = torch.nn.functional.interpolate(astronaut[None], size=(240, 320), mode="bilinear")[0]
    images, messages = wm.embed([astronaut, wide])
    assert isinstance(images, list) and images[1].shape == (3, 240, 320)
    assert wm.detect(images, messages).detected.all()


@pytest.mark.parametrize("shape, words", [
    ((3, 255, 257), "255x257 px, below the minimum of 65536 px (256x256)"),
    ((3, 4, 16384), "4x16384 px, below the minimum of 65536 px (256x256) with sides >= 8 px"),
])
def test_too_small_images_name_their_size_and_the_minimum(shape, words):
    wm = inria.create("watermarker", "dwt_dct")
    for call in (lambda: wm.embed(torch.rand(1, *shape)), lambda: wm.detect(torch.rand(1, *shape))):
        with pytest.raises(inria.InriaError) as err:
            call()
        assert words in str(err.value) and "_up" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("messages, words", [
    (np.zeros((1, 31), bool), "messages of shape (1, 31)"),
    (np.full((1, 32), 2), "accepted: bool or 0/1 of shape (1, 32)"),
])
def test_bad_messages(astronaut, messages, words):
    with pytest.raises(inria.InriaError, match=words.replace("(", r"\(").replace(")", r"\)")):
        inria.create("watermarker", "dwt_dct").embed(astronaut[None], messages)


def test_bad_images():
    wm = inria.create("watermarker", "dwt_dct")
    with pytest.raises(inria.InriaError, match=r"dwt_dct.embed: got ndarray .*accepted: a float tensor \(N, 3, H, W\)"):
        wm.embed(np.zeros((1, 3, 256, 256)))
    with pytest.raises(inria.InriaError, match=r"image 1: got a tensor of shape \(1, 256, 256\)"):
        wm.detect([torch.rand(3, 256, 256), torch.rand(1, 256, 256)])


def test_verbs_report_quality_and_detection(photos, tmp_path):
    wm = inria.create("watermarker", "dwt_dct")
    ctx = StepContext.standalone(tmp_path)
    out = wm.embed_step(ctx, photos[:1], message_seed=3)
    assert set(out["metrics"]) == {"psnr", "ms_ssim", "ssim", "linf"}
    found = wm.detect_step(ctx, out["images"], out["messages"])["metrics"]
    assert found["detected_rate"] == 1.0 and found["bit_accuracy"] == 1.0 and found["median_log10_p"] < -6
