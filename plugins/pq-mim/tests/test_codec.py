"""compress / decompress: sizes, rates, input kinds, save/load, overrides, hybrid mode."""
import pytest
import torch

import inria
from inria.errors import InriaError
from inria.eval.metrics import bpp


@pytest.mark.parametrize("h,w", [(1, 1), (17, 33), (64, 96), (5, 200)])
def test_roundtrip_any_size(tiny, h, w):
    x = torch.rand(3, h, w)
    data = tiny.compress(x)
    y = tiny.decompress(data)
    assert y.shape == (3, h, w) and y.dtype == torch.float32
    assert 0 <= float(y.min()) and float(y.max()) <= 1


def test_decoded_tokens_equal_encoded_tokens(tiny, photo):
    from inria.bitstream import unpack
    from inria.ops.image import pad_to_multiple

    from inria_pq_mim.header import CodingSettings, from_meta

    data = tiny.compress(photo)
    box = unpack(data)
    settings, _ = from_meta(box.meta, 4)
    padded, _ = pad_to_multiple(photo[None], 4)
    sent = tiny.autoencoder.encode(padded)[0]
    got, _, soft = tiny.coder.decompress(box.payload, *sent.shape[-2:], settings)
    assert soft is None  # every group was sent
    assert torch.equal(got, sent)
    assert settings == CodingSettings.from_config(tiny.config)


def test_fewer_subquantizers_fewer_bytes_same_weights(tiny, photo):
    sizes = []
    for m in (1, 2, 4):
        v = tiny.with_overrides(active_subquantizers=m)
        assert v.autoencoder is tiny.autoencoder and v.model_id == tiny.model_id  # shared weights
        data = v.compress(photo)
        assert v.decompress(data).shape == photo.shape
        sizes.append(len(data))
    assert sizes[0] < sizes[1] < sizes[2]
    # the decoder reads M from the stream: any view decodes any rate of the same model
    assert tiny.decompress(tiny.with_overrides(active_subquantizers=1).compress(photo)).shape == photo.shape


def test_bpp_counts_the_whole_bitstream(tiny, photo):
    data = tiny.compress(photo)
    assert bpp(data, photo) == len(data) * 8 / (48 * 64)


def test_architecture_fields_cannot_be_overridden(tiny):
    with pytest.raises(InriaError, match="num_subquantizers"):
        tiny.with_overrides(num_subquantizers=2)
    with pytest.raises(InriaError, match="active_subquantizers"):
        tiny.with_overrides(active_subquantizers=9)


def test_save_load_gives_the_same_model_and_bytes(tiny, tiny_dir, tiny_config, photo):
    from inria_pq_mim.codec import PQMIM

    other = PQMIM.load(tiny_dir)
    assert other.model_id == tiny.model_id
    assert other.compress(photo) == tiny.compress(photo)
    via_config = inria.create("codec", "pq_mim", **{**tiny_config, "checkpoint": str(tiny_dir)})
    assert via_config.model_id == tiny.model_id


def test_checkpoint_alone_brings_its_architecture(tiny, tiny_dir):
    codec = inria.create("codec", "pq_mim", checkpoint=str(tiny_dir))  # no architecture field given
    assert codec.config.num_subquantizers == 4 and codec.config.channels == [8, 16]
    assert codec.model_id == tiny.model_id


def test_checkpoint_of_another_architecture_is_refused(tiny_dir, tiny_config):
    with pytest.raises(InriaError, match="latent_dim"):
        inria.create("codec", "pq_mim", **{**tiny_config, "checkpoint": str(tiny_dir), "latent_dim": 32})
    with pytest.raises(InriaError, match="not a model directory"):
        inria.create("codec", "pq_mim", **{**tiny_config, "checkpoint": "/nonexistent/dir"})


def test_grayscale_is_expanded_and_rgba_refused(tiny, photo):
    gray = photo.mean(0, keepdim=True)
    y = tiny.decompress(tiny.compress(gray))
    assert y.shape == (3, 48, 64)
    assert tiny.compress(gray) == tiny.compress(gray.expand(3, -1, -1))
    with pytest.raises(InriaError, match="4 channels"):
        tiny.compress(torch.rand(4, 16, 16))
    with pytest.raises(InriaError, match="2 channels"):
        tiny.compress(torch.rand(2, 16, 16))


def test_other_input_kinds(tiny, photo):
    as_uint8 = (photo * 255).round().to(torch.uint8)
    assert tiny.decompress(tiny.compress(as_uint8)).shape == photo.shape
    assert tiny.compress(photo[None]) == tiny.compress(photo)  # a batch of one
    for bad, msg in [(photo.numpy(), "torch tensor"), (torch.rand(2, 3, 8, 8), "one \\(3, H, W\\)"),
                     (photo * 255, "expects \\[0, 1\\]"), (torch.full((3, 4, 4), float("nan")), "NaN"),
                     (torch.zeros(3, 0, 5), "empty"), (torch.ones(3, 4, 4, dtype=torch.int32), "dtype")]:
        with pytest.raises(InriaError, match=msg):
            tiny.compress(bad)


def test_hybrid_mode_sends_fewer_groups_and_fills_the_rest(tiny, photo):
    full = tiny.compress(photo)
    part = tiny.with_overrides(send_groups=1)
    data = part.compress(photo)
    assert len(data) < len(full)
    y = tiny.decompress(data)  # the stream says how many groups it holds
    assert y.shape == photo.shape
    argmax = tiny.decompress(tiny.with_overrides(send_groups=1, fill="argmax").compress(photo))
    assert not torch.equal(argmax, y)  # default fill 'mean': expected codewords, not the most likely ones
    sampled = tiny.with_overrides(send_groups=1, fill="sample", fill_seed=7)
    a, b = sampled.compress(photo), sampled.compress(photo)
    assert a == b and len(a) == len(data) + 4  # the seed travels in the header
    assert torch.equal(tiny.decompress(a), tiny.decompress(b))


def test_compress_to_budget(tiny, photo):
    from inria_pq_mim.hybrid import compress_to_budget

    full = len(tiny.compress(photo))
    choice = compress_to_budget(tiny, photo, max_bytes=full // 3, candidates=[1, 4])
    assert len(choice.data) <= full // 3
    assert tiny.decompress(choice.data).shape == photo.shape
    assert choice.active_subquantizers * choice.send_groups < 4 * 4
    with pytest.raises(InriaError, match="fits 10 bytes"):
        compress_to_budget(tiny, photo, max_bytes=10, candidates=[1])


def test_core_evaluate_sweeps_the_rate_of_one_model(tiny, photo):
    from inria.eval.codec import evaluate_codec

    out = evaluate_codec(tiny, [photo, photo.flip(-1)], {"active_subquantizers": [1, 4]})
    rd = out["metrics"]["rd"]
    assert [p["params"]["active_subquantizers"] for p in rd] == [1, 4]
    assert rd[0]["bpp"] < rd[1]["bpp"]
    assert len(out["images"]) == 2
