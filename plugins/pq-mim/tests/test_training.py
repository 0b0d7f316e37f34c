"""fit runs both stages through the core engine and does what each stage is for."""
import copy

import pytest
import torch

import inria
from inria.context import StepContext


@pytest.fixture(scope="module")
def trained(tiny_config, tmp_path_factory):
    from inria.data.images import samples

    photos = samples(["coffee", "chelsea"])[0]
    images = [p[:, 50:114, 50:146].contiguous() for p in photos] + [p[:, 150:214, 150:246].contiguous() for p in photos]
    torch.manual_seed(0)
    cfg = {**tiny_config, "crop": 32,
           "stage1": {"steps": 40, "batch_size": 4, "lr": 3e-3, "objective": "pq_mim_autoencoder", "log_every": 20},
           "stage2": {"steps": 40, "batch_size": 8, "lr": 3e-3, "objective": "pq_mim_mim", "log_every": 20}}
    codec = inria.create("codec", "pq_mim", **cfg)
    before = copy.deepcopy(codec)
    ctx = StepContext.standalone(tmp_path_factory.mktemp("fit"))
    metrics = codec.fit(images, ctx)
    return codec, before, images, metrics, ctx


def _mse(codec, images):
    from inria.ops.image import pad_to_multiple

    err = 0.0
    for im in images:
        x, _ = pad_to_multiple(im[None], 4)
        err += float(((codec.autoencoder.decode(codec.autoencoder.encode(x)) - x) ** 2).mean())
    return err / len(images)


def test_stage1_learns_to_reconstruct(trained):
    codec, before, images, metrics, _ = trained
    assert _mse(codec, images) < 0.5 * _mse(before, images)
    assert metrics["stage1/steps"] == 40


def test_stage2_learns_to_predict_the_tokens(trained):
    """The same tokens cost fewer bytes under the trained MIM model than under its initialisation."""
    from inria.ops.image import pad_to_multiple

    from inria_pq_mim.entropy_model import MIMEntropyModel
    from inria_pq_mim.header import CodingSettings

    codec, before, images, metrics, _ = trained
    settings = CodingSettings.from_config(codec.config)
    trained_bytes = untrained_bytes = 0
    for im in images:
        x, _ = pad_to_multiple(im[None], 4)
        tokens = codec.autoencoder.encode(x)[0]
        trained_bytes += len(codec.coder.compress(tokens, settings)[0])
        untrained_bytes += len(MIMEntropyModel(before.mim).compress(tokens, settings)[0])
    assert trained_bytes < 0.95 * untrained_bytes
    assert metrics["stage2/bits_per_index"] < 4.0  # log2(K = 16) bits uncoded


def test_fit_checkpoints_each_stage_and_changes_the_model_id(trained):
    codec, before, images, metrics, ctx = trained
    assert (ctx.checkpoint_dir / "stage1" / "last.pt").is_file()
    assert (ctx.checkpoint_dir / "stage2" / "last.pt").is_file()
    assert codec.model_id != before.model_id
    assert codec.decompress(codec.compress(images[0])).shape == images[0].shape


def test_stage3_refines_the_decoder_on_frozen_codes(trained, tmp_path):
    """refine_decoder: the codes (so every rate and the MIM model) stay, the reconstruction improves, the model id
    changes so the old model's streams are refused in one line."""
    from inria.errors import InriaError
    from inria.ops.image import pad_to_multiple

    from inria_pq_mim.training import refine_decoder

    codec, _, images, _, _ = trained
    refined = copy.deepcopy(codec)
    refined.config.stage3 = refined.config.stage3.replace(steps=60, batch_size=4, lr=3e-3, warmup_steps=5,
                                                          log_every=20)
    refined.config.crop = 32
    old_stream = codec.compress(images[0])
    metrics = refine_decoder(refined, images, StepContext.standalone(tmp_path))
    assert metrics["stage3/steps"] == 60
    for im in images:
        x, _ = pad_to_multiple(im[None], 4)
        assert torch.equal(refined.autoencoder.encode(x), codec.autoencoder.encode(x))  # same codes
    assert torch.equal(refined.autoencoder.quantizer.codebook, codec.autoencoder.quantizer.codebook)
    assert _mse(refined, images) < 0.9 * _mse(codec, images)
    assert refined.model_id != codec.model_id
    with pytest.raises(InriaError) as e:
        refined.decompress(old_stream)
    assert "\n" not in str(e.value) and "model" in str(e.value)
    assert len(refined.compress(images[0])) == len(old_stream)  # same tokens under the same MIM model: same bytes


def test_stage2_alone_trains_the_mim_model_on_and_keeps_the_reconstruction(trained, tmp_path):
    """train_mim (train_default --mim): the tokens and decoder stay, the same tokens cost fewer bytes after more MIM
    steps, and the model id changes so a stream of the earlier model is refused."""
    from inria.errors import InriaError
    from inria_pq_mim.training import train_mim

    codec, _, images, _, _ = trained
    more = copy.deepcopy(codec)
    more.config.stage2 = more.config.stage2.replace(steps=120, warmup_steps=5)
    old_stream = codec.compress(images[0])
    ctx = StepContext.standalone(tmp_path)
    metrics = train_mim(more, images, ctx)
    assert metrics["stage2/steps"] == 120
    assert (ctx.checkpoint_dir / "stage2" / "last.pt").is_file()
    assert torch.equal(more.autoencoder.quantizer.codebook, codec.autoencoder.quantizer.codebook)
    for a, b in zip(more.autoencoder.decoder.parameters(), codec.autoencoder.decoder.parameters()):
        assert torch.equal(a, b)
    assert more.model_id != codec.model_id
    with pytest.raises(InriaError, match="model"):
        more.decompress(old_stream)
    assert sum(len(more.compress(im)) for im in images) < sum(len(codec.compress(im)) for im in images)
