import pytest
import torch

from inria.errors import InriaError
from inria.ops import image as ops
from inria_deit3.three_augment import ThreeAugment

OFF = dict(crop="none", hflip=False, grayscale=False, solarize=False, blur=False, color_jitter=0.0)


def _images(n=16, side=32):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, side, side, generator=g)
    x[:, :, :, : side // 2] *= 0.3  # left/right asymmetric, so a flip is visible
    return x


def test_everything_off_is_identity_and_labels_pass_through():
    x, y = _images(), torch.arange(16)
    out_x, out_y = ThreeAugment(**OFF)((x, y), None)
    assert torch.equal(out_x, x) and out_y is y


def test_one_of_with_a_single_choice_always_applies_it():
    x = _images()
    torch.manual_seed(0)
    out = ThreeAugment(**dict(OFF, solarize=True)).apply(x)
    assert torch.allclose(out, ops.solarize(x, threshold=0.5))
    gray = ThreeAugment(**dict(OFF, grayscale=True)).apply(x)
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])


def test_each_image_gets_exactly_one_of_the_three():
    x = _images(60)
    torch.manual_seed(1)
    out = ThreeAugment(**dict(OFF, grayscale=True, solarize=True, blur=True)).apply(x)
    gray, sol = ops.grayscale(x), ops.solarize(x, threshold=0.5)
    kinds = []
    for i in range(len(x)):
        if torch.allclose(out[i], gray[i]):
            kinds.append("g")
        elif torch.allclose(out[i], sol[i]):
            kinds.append("s")
        else:  # blurred: smoother than the input, same mean
            assert out[i].diff(dim=-1).abs().mean() < x[i].diff(dim=-1).abs().mean()
            kinds.append("b")
    assert set(kinds) == {"g", "s", "b"}


def test_flip_is_random_per_image_and_off_for_digits():
    x = _images(40)
    torch.manual_seed(2)
    out = ThreeAugment(**dict(OFF, hflip=True)).apply(x)
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(40)]
    same = [torch.equal(out[i], x[i]) for i in range(40)]
    assert all(f or s for f, s in zip(flipped, same)) and 5 < sum(flipped) < 35
    digits_like = ThreeAugment(**dict(OFF, hflip=False, crop="src", padding=2))
    for _ in range(5):
        assert not any(torch.equal(o, xi.flip(-1)) for o, xi in zip(digits_like.apply(x), x))


def test_src_crop_is_a_shift_of_at_most_padding_pixels():
    x = _images(8)
    torch.manual_seed(3)
    out = ThreeAugment(**dict(OFF, crop="src", padding=2)).apply(x)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    for i in range(8):
        assert any(torch.equal(out[i], padded[i, :, t:t + 32, l:l + 32]) for t in range(5) for l in range(5))


def test_full_pipeline_keeps_shape_and_range_on_dict_batches():
    x = _images(8, 48)
    batch = {"images": x, "labels": torch.zeros(8, dtype=torch.long)}
    out = ThreeAugment()(batch, None)
    assert out["images"].shape == x.shape and out["labels"] is batch["labels"]
    assert 0 <= out["images"].min() and out["images"].max() <= 1
    assert not torch.equal(out["images"], x)


@pytest.mark.parametrize("kw,field", [({"crop": "center"}, "crop"), ({"scale": (0.5, 2.0)}, "scale"),
                                      ({"blur_sigma": (0, 1)}, "blur_sigma")])
def test_bad_arguments_name_the_field(kw, field):
    with pytest.raises(InriaError, match=f"three_augment.{field}"):
        ThreeAugment(**kw)


def test_rejects_non_image_batches():
    with pytest.raises(InriaError, match="expected images"):
        ThreeAugment().apply(torch.rand(4, 32, 32))
