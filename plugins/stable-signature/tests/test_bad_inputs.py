"""Each bad input of the issue gets a one-line InriaError."""
import numpy as np
import pytest
import torch

import inria
from inria import InriaError
from inria_stable_signature.autoencoder import Autoencoder, SmallAutoencoder


def one_line(excinfo):
    assert "\n" not in str(excinfo.value)
    return str(excinfo.value)


@pytest.fixture(scope="module")
def ss():
    return inria.create("watermarker", "stable_signature")


@pytest.mark.parametrize("key", ["0101", "0" * 47 + "2", "1" * 49])
def test_key_of_wrong_length_or_not_binary(key):
    with pytest.raises(InriaError, match="key") as e:
        inria.create("watermarker", "stable_signature", key=key)
    one_line(e)


def test_reference_messages_not_binary(ss):
    with pytest.raises(InriaError, match="0/1") as e:
        ss.detect(torch.rand(1, 3, 32, 32), reference=np.full((1, 48), 3))
    one_line(e)


def test_images_smaller_than_the_extractor_accepts(ss):
    with pytest.raises(InriaError, match="at least 16x16") as e:
        ss.detect(torch.rand(1, 3, 12, 40))
    one_line(e)


@pytest.mark.parametrize("channels, word", [(1, "grayscale"), (4, "RGBA")])
def test_grayscale_or_rgba(ss, channels, word):
    with pytest.raises(InriaError, match=word) as e:
        ss.embed(torch.rand(2, channels, 32, 32))
    one_line(e)
    with pytest.raises(InriaError, match=word):
        ss.detect([torch.rand(channels, 32, 32)])


def test_corrupt_or_truncated_model_directory(ss, tmp_path):
    model = ss.save(tmp_path / "m")
    weights = model / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(InriaError, match="corrupt or truncated") as e:
        inria.create("watermarker", "stable_signature", checkpoint=str(model)).detect(torch.rand(1, 3, 32, 32))
    one_line(e)


def test_corrupt_hidden_checkpoint(tmp_path):
    bad = tmp_path / "hidden.pth"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InriaError, match="corrupt or truncated") as e:
        inria.create("watermarker", "hidden", checkpoint=str(bad)).detect(torch.rand(1, 3, 32, 32))
    one_line(e)


def test_torchscript_with_another_number_of_bits(tmp_path):
    from inria_stable_signature.extractor import export_torchscript, hidden_extractor
    from inria_stable_signature.hidden import HiddenDecoder

    path = export_torchscript(hidden_extractor(HiddenDecoder(32, 2, 8)), tmp_path / "dec_32b.pt")
    with pytest.raises(InriaError, match="32 bits but the config says bits=48") as e:
        inria.create("watermarker", "stable_signature", extractor=str(path)).detect(torch.rand(1, 3, 32, 32))
    one_line(e)


def test_vae_whose_latents_do_not_fit_the_decoder():
    ae = SmallAutoencoder(4, (8, 8))
    ae.decoder[0] = torch.nn.Conv2d(8, 8, 3, padding=1)  # a decoder expecting 8 latent channels
    with pytest.raises(InriaError, match="cannot decode the encoder's latents of shape") as e:
        Autoencoder(ae).check_latents()
    one_line(e)


def test_watermarked_decoder_of_another_vae(tmp_path):
    """A model directory whose tuned decoder does not fit the VAE it is loaded with."""
    from inria_stable_signature.extractor import hidden_extractor, whitening
    from inria_stable_signature.hidden import HiddenDecoder
    from inria_stable_signature.modelfiles import load_diffusers_vae
    from inria_stable_signature.testing import tiny_vae

    small, big = tmp_path / "small", tmp_path / "big"
    tiny_vae(latent_channels=4).save_pretrained(small)
    tiny_vae(latent_channels=8).save_pretrained(big)
    dec = HiddenDecoder(48, 2, 8).eval()
    ext = hidden_extractor(dec, whitening(hidden_extractor(dec).logits(torch.rand(64, 3, 32, 32))))
    ae = load_diffusers_vae(small)
    from inria_stable_signature.watermarkers import StableSignature

    ss = StableSignature.from_parts(ext, ae, watermarked=ae.tunable_copy(), key="0" * 48, vae=str(small))
    ss.save(tmp_path / "model")
    with pytest.raises(InriaError, match="does not fit this autoencoder") as e:
        inria.create("watermarker", "stable_signature", checkpoint=str(tmp_path / "model"), vae=str(big)).embed(
            torch.rand(1, 3, 32, 32))
    one_line(e)


@pytest.mark.parametrize("name", ["stable_signature", "hidden"])
def test_unknown_device_is_refused_at_config_time(name):
    with pytest.raises(InriaError, match="device 'gpu'.*accepted: cpu, cuda, cuda:N, auto") as e:
        inria.create("watermarker", name, device="gpu")
    one_line(e)


def test_device_from_the_config_runs_embed_and_detect_there():
    wm = inria.create("watermarker", "stable_signature", device="auto")
    assert wm._device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    marked, keys = wm.embed(torch.rand(1, 3, 32, 32))
    assert wm.detect(marked, keys).bits.shape == (1, 48)
