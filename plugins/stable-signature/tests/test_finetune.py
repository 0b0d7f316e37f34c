"""Decoder tuning on a diffusers AutoencoderKL, and putting the result into a pipeline."""
import types

import numpy as np
import pytest
import torch

import inria
from inria import InriaError
from inria_stable_signature.extractor import Extractor, export_torchscript, load_torchscript
from inria_stable_signature.modelfiles import load_diffusers_vae
from inria_stable_signature.testing import tiny_vae
from inria_stable_signature.watermarkers import StableSignature


def easy_extractor(bits=48):
    """A 4x4-thumbnail extractor: trivially steerable, enough to check the tuning mechanics in seconds."""
    torch.manual_seed(3)
    lin = torch.nn.Linear(48, bits)
    torch.nn.init.orthogonal_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    return Extractor(torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), lin), bits).eval()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    from inria.context import StepContext

    folder = tmp_path_factory.mktemp("vae")
    tiny_vae().save_pretrained(folder)
    # 32 images, 120 steps: with 8 images and 60 steps the key reached the training crops (bit accuracy 0.998) but
    # held-out images sat at the 41/48 threshold: it passed in one CI run and failed (2 of 4 below) on a later
    # machine with the same pinned packages; here the worst of 16 held-out images reads 42/48
    images = [torch.rand(3, 40, 40) * torch.rand(3, 1, 1) for _ in range(32)]
    train = dict(steps=120, batch_size=2, lr=3e-3, warmup_steps=3, log_every=60,
                 objective_args={"loss_i": "watson-dft", "lambda_i": 1e-3, "temperature": 10.0})
    # the toy extractor goes through TorchScript, as the paper's released one does
    ts = export_torchscript(easy_extractor(), folder / "extractor.torchscript.pt")
    ss = StableSignature.from_parts(load_torchscript(ts), load_diffusers_vae(folder), image_size=24, train=train,
                                    vae=str(folder), extractor=str(ts))
    metrics = ss.fit(images, ctx=StepContext.standalone(tmp_path_factory.mktemp("run")))
    return ss, folder, metrics


def test_tuning_roots_the_key_in_the_decoder(tuned):
    ss, _, metrics = tuned
    assert metrics["steps"] == 120 and metrics["bit_acc"] > 0.9 and len(metrics["key"]) == 48
    x = torch.rand(4, 3, 32, 32) * torch.rand(4, 3, 1, 1)
    marked, keys = ss.embed(x)
    d = ss.detect(marked)
    assert d.detected.all() and (d.bit_accuracy >= 41 / 48).all()
    # the frozen encoder's latents decoded by the *original* decoder do not carry the key
    _, plain = ss.decode_pair(x)
    assert not ss.detect(plain).detected.any()
    # and the encoder was not touched
    for (n, p), (_, q) in zip(ss.autoencoder.module.encoder.named_parameters(),
                              ss.watermarked.module.encoder.named_parameters()):
        assert torch.equal(p, q), n


def test_pipeline_swap_and_the_forgotten_swap(tuned):
    ss, folder, _ = tuned
    pipe = types.SimpleNamespace(vae=load_diffusers_vae(folder).module)
    from inria_stable_signature.pipeline import verify

    probes = torch.rand(4, 3, 24, 24) * torch.rand(4, 3, 1, 1)   # like the tuning images of this toy model
    with pytest.raises(InriaError, match="does not carry the watermark") as e:
        verify(pipe, ss, images=probes)   # the paper's users' mistake: the original VAE still in place
    assert "\n" not in str(e.value)
    ss.install(pipe, images=probes)       # copies the tuned decoder in, then checks it
    assert pipe.vae.inria_stable_signature_key == "".join("1" if b else "0" for b in ss.key)
    assert verify(pipe, ss, images=probes) >= 0.9


def test_save_load_roundtrip(tuned, tmp_path):
    ss, folder, _ = tuned
    ss.save(tmp_path / "m")
    again = inria.create("watermarker", "stable_signature", checkpoint=str(tmp_path / "m"), vae=str(folder),
                         extractor=ss.config.extractor)
    x = torch.rand(2, 3, 32, 32)
    np.testing.assert_allclose(again.embed(x)[0].numpy(), ss.embed(x)[0].numpy(), atol=1e-5)
    assert (again.key == ss.key).all()
