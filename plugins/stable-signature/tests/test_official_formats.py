"""The paper's released file formats, built here with the same layouts (nothing is downloaded)."""
import argparse
import re

import numpy as np
import pytest
import torch

from inria_stable_signature.testing import tiny_vae
from inria import InriaError
from inria_stable_signature import official
from inria_stable_signature.extractor import export_torchscript, hidden_extractor, load_torchscript, whitening
from inria_stable_signature.hidden import HiddenArch, hidden_decoder, hidden_encoder

ARCH = HiddenArch(bits=48, encoder_depth=2, encoder_channels=8, decoder_depth=2, decoder_channels=8)


def to_ldm(diffusers_state: dict, n_up: int) -> dict:
    """diffusers AutoencoderKL decoder names -> LDM first-stage names (the inverse of diffusers' converter)."""
    out = {}
    for k, v in diffusers_state.items():
        if not k.startswith(("decoder.", "post_quant_conv.")):
            continue
        n = k.replace("decoder.mid_block.resnets.0.", "decoder.mid.block_1.")
        n = n.replace("decoder.mid_block.resnets.1.", "decoder.mid.block_2.")
        n = n.replace("decoder.mid_block.attentions.0.", "decoder.mid.attn_1.")
        n = n.replace("group_norm.", "norm.").replace("to_q.", "q.").replace("to_k.", "k.").replace("to_v.", "v.")
        n = n.replace("to_out.0.", "proj_out.").replace("conv_norm_out.", "norm_out.")
        m = re.match(r"decoder\.up_blocks\.(\d+)\.(resnets|upsamplers)\.(\d+)\.(.*)", n)
        if m:
            i, kind, j, rest = int(m.group(1)), m.group(2), m.group(3), m.group(4)
            rest = rest.replace("conv_shortcut", "nin_shortcut")
            n = f"decoder.up.{n_up - 1 - i}." + (f"block.{j}.{rest}" if kind == "resnets" else f"upsample.{rest}")
        if ".mid.attn_1." in n and v.dim() == 2:
            v = v[:, :, None, None]  # LDM attention projections are 1x1 convs
        out[n] = v.clone()
    return out


@pytest.fixture
def watermarked_sd(tmp_path):
    """A 'watermarked' decoder (here: a VAE with other weights) saved in LDM names, like sd2_decoder.pth."""
    source = tiny_vae(seed=1)
    ldm = to_ldm(source.state_dict(), n_up=2)
    ldm["encoder.conv_in.weight"] = torch.zeros(1)  # other first-stage keys are ignored
    path = tmp_path / "sd2_decoder.pth"
    torch.save(ldm, path)
    return source, path


def test_sd2_decoder_converts_to_diffusers_names(watermarked_sd):
    source, path = watermarked_sd
    target = tiny_vae(seed=0)
    z = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        before = target.decode(z).sample
        official.load_into_vae(target, path)
        after = target.decode(z).sample
        expected = source.decode(z).sample
    assert not torch.allclose(before, expected)
    torch.testing.assert_close(after, expected)


def test_finetune_checkpoint_with_namespace_loads_weights_only(watermarked_sd, tmp_path):
    source, _ = watermarked_sd
    ck = {"ldm_decoder": to_ldm(source.state_dict(), 2), "optimizer": {"state": {}, "param_groups": []},
          "params": argparse.Namespace(num_bits=48, lambda_i=0.2, loss_i="watson-vgg")}
    path = tmp_path / "checkpoint_000.pth"
    torch.save(ck, path)
    state, params = official.load_ldm_decoder(path)
    assert params["lambda_i"] == 0.2
    assert "decoder.conv_in.weight" in state


class NotAllowed:
    def __init__(self):
        self.x = 1


def test_checkpoint_with_other_objects_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"ldm_decoder": {}, "params": NotAllowed()}, path)
    with pytest.raises(InriaError, match="refusing"):
        official.load_ldm_decoder(path)


def test_truncated_checkpoint_is_one_line(watermarked_sd, tmp_path):
    _, path = watermarked_sd
    cut = tmp_path / "cut.pth"
    cut.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InriaError, match="corrupt or truncated") as e:
        official.load_ldm_decoder(cut)
    assert "\n" not in str(e.value)


def test_decoder_of_another_architecture_is_refused(tmp_path):
    from diffusers import AutoencoderKL

    other = AutoencoderKL(block_out_channels=(8, 32), down_block_types=("DownEncoderBlock2D",) * 2,
                          up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1, norm_num_groups=4)
    path = tmp_path / "other.pth"
    torch.save(to_ldm(other.state_dict(), 2), path)
    with pytest.raises(InriaError, match="shape"):
        official.load_into_vae(tiny_vae(), path)


def test_hidden_training_checkpoint(tmp_path):
    enc, dec = hidden_encoder(ARCH), hidden_decoder(ARCH)
    state = {f"module.encoder.{k}": v for k, v in enc.state_dict().items()}
    state.update({f"module.decoder.{k}": v for k, v in dec.state_dict().items()})
    params = argparse.Namespace(num_bits=48, scaling_w=0.3, scale_channels=False, redundancy=1, encoder_depth=2)
    path = tmp_path / "hidden_replicate.pth"
    torch.save({"encoder_decoder": state, "optimizer": {}, "epoch": 300, "params": params}, path)
    arch, enc_state, dec_state, p = official.load_hidden_checkpoint(path)
    assert arch == ARCH and p["scaling_w"] == 0.3
    dec2 = hidden_decoder(arch)
    dec2.load_state_dict(dec_state)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(dec2.eval()(x), dec.eval()(x))
    # and the watermarker reads it too
    import inria

    hd = inria.create("watermarker", "hidden", checkpoint=str(path))
    marked, msgs = hd.embed(torch.rand(2, 3, 32, 32))
    assert marked.shape == (2, 3, 32, 32) and msgs.shape == (2, 48)


def test_torchscript_extractor_roundtrip_and_bits_check(tmp_path):
    dec = hidden_decoder(ARCH).eval()
    raw = hidden_extractor(dec)
    ext = hidden_extractor(dec, whitening(raw.logits(torch.rand(64, 3, 32, 32))))
    path = export_torchscript(ext, tmp_path / "dec_48b_whit.torchscript.pt")
    loaded = load_torchscript(path, bits=48)
    x = torch.rand(3, 3, 40, 48)
    torch.testing.assert_close(loaded.logits(x), ext.logits(x))
    with pytest.raises(InriaError, match="outputs 48 bits but the config says bits=32"):
        load_torchscript(path, bits=32)
    bad = tmp_path / "bad.torchscript.pt"
    bad.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(InriaError, match="not a readable TorchScript"):
        load_torchscript(bad)


def test_stable_signature_from_the_official_files(watermarked_sd, tmp_path):
    """extractor (TorchScript) + vae folder + sd2_decoder.pth + key, as a user of the paper's release does."""
    import inria

    source, dec_path = watermarked_sd
    vae_dir = tmp_path / "vae"
    tiny_vae(seed=0).save_pretrained(vae_dir)
    dec = hidden_decoder(ARCH).eval()
    ext = hidden_extractor(dec, whitening(hidden_extractor(dec).logits(torch.rand(64, 3, 32, 32))))
    ts = export_torchscript(ext, tmp_path / "ext.pt")
    key = "01" * 24
    ss = inria.create("watermarker", "stable_signature", checkpoint="none", extractor=str(ts), vae=str(vae_dir),
                      decoder=str(dec_path), key=key)
    x = torch.rand(2, 3, 32, 32)
    marked, keys = ss.embed(x)
    with torch.no_grad():  # the folder's encoder, the watermarked file's decoder
        z = tiny_vae(seed=0).encode(2 * x - 1).latent_dist.mode()
        expected = ((source.decode(z).sample + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(marked, expected, atol=1e-5, rtol=1e-4)
    assert (keys == np.array([c == "1" for c in key])).all()
    d = ss.detect(marked)
    assert d.bits.shape == (2, 48) and np.isfinite(d.p_value).all()
    # the TorchScript extractor is never re-loaded from a path written in a card
    ss.save(tmp_path / "model")
    with pytest.raises(InriaError, match="TorchScript is code"):
        inria.create("watermarker", "stable_signature", checkpoint=str(tmp_path / "model"), vae=str(vae_dir)).detect(x)
    again = inria.create("watermarker", "stable_signature", checkpoint=str(tmp_path / "model"), extractor=str(ts))
    np.testing.assert_array_equal(again.detect(marked).bits, d.bits)


def test_keys_txt(tmp_path):
    p = tmp_path / "keys.txt"
    p.write_text("out/checkpoint_000.pth\t" + "1" * 48 + "\n")
    assert official.read_keys_txt(p) == {"out/checkpoint_000.pth": "1" * 48}
    p.write_text("out/checkpoint_000.pth 1111\n")
    with pytest.raises(InriaError, match="line 1"):
        official.read_keys_txt(p)
