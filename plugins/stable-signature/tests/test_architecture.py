import pytest
import torch

from inria_stable_signature.attack_layer import AttackLayer, AttackLayerConfig
from inria_stable_signature.extractor import WHITENED_STD, hidden_extractor, whitening
from inria_stable_signature.hidden import ARCHS, HiddenEmbedder, hidden_decoder, hidden_encoder


def test_paper_architecture_and_official_key_names():
    enc, dec = hidden_encoder(ARCHS["paper"]), hidden_decoder(ARCHS["paper"])
    keys = set(enc.state_dict())
    assert {"conv_bns.3.layers.0.weight", "conv_bns.3.layers.1.running_mean", "after_concat_layer.layers.0.weight",
            "final_layer.weight"} <= keys
    assert "conv_bns.4.layers.0.weight" not in keys                       # 4 blocks
    assert enc.after_concat_layer.layers[0].in_channels == 64 + 3 + 48   # message broadcast + features + image
    dkeys = set(dec.state_dict())
    assert {"layers.7.layers.0.weight", "layers.8.layers.0.weight", "linear.weight"} <= dkeys
    assert dec.layers[8].layers[0].out_channels == 48                     # 8 blocks, then a block to k channels
    assert isinstance(dec.layers[9], torch.nn.AdaptiveAvgPool2d)
    assert dec.linear.weight.shape == (48, 48)


def test_shapes_any_size_and_residual_is_bounded():
    arch = ARCHS["small"]
    emb = HiddenEmbedder(hidden_encoder(arch), scaling_w=0.3).eval()
    dec = hidden_decoder(arch).eval()
    x = torch.rand(2, 3, 40, 56)
    m = torch.rand(2, 48) > 0.5
    with torch.no_grad():
        xw = emb(x, m)
        assert xw.shape == x.shape and xw.min() >= 0 and xw.max() <= 1
        # tanh residual x scaling_w x ImageNet std bounds the change per pixel
        assert (xw - x).abs().max() <= 0.3 * 0.229 + 1e-6
        assert dec(xw).shape == (2, 48)


def test_whitening_decorrelates_and_scales():
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(48, 48, generator=g)
    logits = torch.randn(2000, 48, generator=g) @ mix.T * 3 + 5    # correlated, off-centre raw outputs
    layer = whitening(logits, ridge=0.0)
    with torch.no_grad():
        y = layer(logits).double()
    assert y.mean(0).abs().max() < 1e-3
    cov = torch.cov(y.T) / WHITENED_STD ** 2
    assert torch.allclose(cov, torch.eye(48, dtype=cov.dtype), atol=1e-3)
    # on a real (random-init) extractor the whitened logits are centred on the whitening images
    dec = hidden_decoder(ARCHS["small"]).eval()
    imgs = torch.rand(100, 3, 24, 24) * torch.rand(100, 3, 1, 1)
    ext = hidden_extractor(dec, whitening(hidden_extractor(dec).logits(imgs)))
    assert ext.whitened and ext.logits(imgs).mean(0).abs().max() < 0.1 * WHITENED_STD


def test_attack_layer_switches_and_gradients():
    layer = AttackLayer(AttackLayerConfig(crop=False, resize=False, jpeg=True, flip=False))
    assert layer.names == ["identity", "jpeg_50", "jpeg_80"]
    full = AttackLayer(AttackLayerConfig(blur=True, rotate=True, jitter=True))
    assert {"crop_0.3", "resize_0.7", "blur_11", "rotate_90", "brightness_1.5"} <= set(full.names)
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    for name, fn in full.table:
        out = fn(x)
        out.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all(), name   # JPEG passes a straight-through gradient
        x.grad = None


def test_hidden_objective_switches_the_attack_layer_on_at_attacks_from():
    from types import SimpleNamespace

    from inria_stable_signature.objectives import HiddenMessage

    seen = []

    class Probe(torch.nn.Module):
        bits = 8

        def forward(self, x, msgs, attack=None):
            seen.append(attack)
            return x, torch.zeros(x.shape[0], self.bits, requires_grad=True)

    probe = Probe()
    objective = HiddenMessage(attacks={"crop": True}, attacks_from=3)
    for step in range(5):
        objective(probe, torch.rand(2, 3, 16, 16), SimpleNamespace(step=step, module=probe))
    assert [a is None for a in seen] == [True, True, True, False, False]
    with pytest.raises(Exception, match="attacks_from"):
        HiddenMessage(attacks_from=-1)


def test_cpu_arch_is_a_three_block_extractor():
    from inria_stable_signature.hidden import ARCHS, hidden_decoder

    dec = hidden_decoder(ARCHS["cpu"])
    assert sum(isinstance(m, torch.nn.Conv2d) for m in dec.modules()) == 4  # 3 blocks + the block to k channels
    assert dec(torch.rand(2, 3, 40, 24)).shape == (2, 48)


def test_train_default_set_overrides_are_typed_and_named():
    from inria import InriaError
    from inria_stable_signature.train_default import Recipe, with_overrides

    r = with_overrides(Recipe(), ["hidden_steps=20000", "tune_lr=1", "workers=4"])
    assert (r.hidden_steps, r.tune_lr, r.workers) == (20000, 1.0, 4)
    with pytest.raises(InriaError, match="did you mean 'hidden_steps'"):
        with_overrides(Recipe(), ["hiden_steps=3"])
    with pytest.raises(InriaError, match="hidden_steps is int, got 3.5"):
        with_overrides(Recipe(), ["hidden_steps=3.5"])


def test_carrier_encoder_is_linear_in_the_message_and_bounded():
    enc = hidden_encoder(ARCHS["cpu_carriers"]).eval()
    assert enc.carriers.out_channels == 3 * 48                             # one 3-channel carrier per bit
    x = torch.rand(2, 3, 24, 40)
    m = torch.rand(2, 48) > 0.5
    emb = HiddenEmbedder(enc, scaling_w=1.0).eval()
    with torch.no_grad():
        pre = torch.atanh(enc(x, 2 * m.float() - 1).clamp(-0.999999, 0.999999))
        pre_flipped = torch.atanh(enc(x, -(2 * m.float() - 1)).clamp(-0.999999, 0.999999))
        assert torch.allclose(pre, -pre_flipped, atol=1e-3)               # flipping every bit negates the residual
        xw = emb(x, m)
    assert xw.shape == x.shape and (xw - x).abs().max() <= 0.229 + 1e-6


def test_unknown_message_path_is_one_line_error():
    import dataclasses

    from inria.errors import InriaError

    with pytest.raises(InriaError, match="arch message 'spread'"):
        hidden_encoder(dataclasses.replace(ARCHS["cpu"], message="spread"))


def test_attack_schedule_adds_families_one_by_one():
    from inria.errors import InriaError
    from inria_stable_signature.objectives import HiddenMessage

    obj = HiddenMessage(attacks={"crop": False, "resize": False, "jpeg": False, "flip": False},
                        attacks_from=10 ** 9, attack_schedule=[[100, "flip"], [200, "crop"]])
    assert obj.attack_at(99) is None
    assert obj.attack_at(150).names == ["identity", "flip"]
    assert obj.attack_at(250).names == ["identity", "flip", "crop_0.3", "crop_0.7"]
    with pytest.raises(InriaError, match="attack_schedule"):
        HiddenMessage(attack_schedule=[[100, "sharpen"]])


def test_scaling_schedule_anneals_the_residual_strength():
    import torch

    from inria.errors import InriaError
    from inria_stable_signature.hidden import ARCHS, HiddenEmbedder, hidden_decoder, hidden_encoder
    from inria_stable_signature.objectives import HiddenMessage, HiddenModel

    obj = HiddenMessage(attacks=False, scaling_schedule=[[0, 1.0], [100, 1.0], [200, 0.2]])
    assert obj.scaling_at(50) == 1.0 and abs(obj.scaling_at(150) - 0.6) < 1e-9 and obj.scaling_at(10 ** 6) == 0.2
    assert HiddenMessage(attacks=False).scaling_at(5) is None  # no schedule: the embedder's own strength
    arch = ARCHS["cpu_carriers"]
    model = HiddenModel(HiddenEmbedder(hidden_encoder(arch), scaling_w=1.0), hidden_decoder(arch)).eval()
    x, m = torch.rand(2, 3, 16, 16) * 0.5 + 0.25, (torch.rand(2, arch.bits) > 0.5).float()
    loud, _ = model(x, m)
    quiet, _ = model(x, m, None, 0.2)
    assert torch.allclose(quiet - x, 0.2 * (loud - x), atol=1e-6)  # the strength scales the residual, nothing else
    for bad in ([[0, 1.0], [0, 0.5]], [[0, -1.0]], [[0]]):
        with pytest.raises(InriaError, match="scaling_schedule"):
            HiddenMessage(attacks=False, scaling_schedule=bad)


def test_circular_padding_removes_the_border_cue_and_round_trips(tmp_path):
    """arch padding 'circular': every padded conv wraps around, so a circularly shifted image gives a shifted
    residual and the same extractor output (no position is special); the field is stored and reloaded."""
    import dataclasses

    import torch

    import inria
    from inria.errors import InriaError
    from inria_stable_signature.hidden import ARCHS, hidden_decoder, hidden_encoder, set_padding

    arch = ARCHS["cpu_circular"]
    assert arch.padding == "circular"
    torch.manual_seed(0)
    enc, dec = hidden_encoder(arch).eval(), hidden_decoder(arch).eval()
    x, m = torch.randn(1, 3, 16, 16), torch.sign(torch.randn(1, arch.bits))
    shifted = x.roll((5, 3), dims=(2, 3))
    with torch.no_grad():
        assert torch.allclose(enc(shifted, m), enc(x, m).roll((5, 3), dims=(2, 3)), atol=1e-5)
        assert torch.allclose(dec(shifted), dec(x), atol=1e-5)
        zeros = hidden_decoder(dataclasses.replace(arch, padding="zeros")).eval()
        zeros.load_state_dict(dec.state_dict())  # same weights: padding is not in the state dict
        seen = (zeros(shifted) - zeros(x)).abs().max()  # zero padding does see the border
        assert seen > 1e-4 and seen > 50 * (dec(shifted) - dec(x)).abs().max()
    with pytest.raises(InriaError, match="arch padding 'reflect'"):
        set_padding(dec, "reflect")
    from inria_stable_signature.hidden import HiddenEmbedder

    wm = inria.create("watermarker", "hidden", checkpoint="none", arch="cpu_circular", bits=arch.bits)
    wm.arch, wm.embedder, wm.decoder, wm._built = arch, HiddenEmbedder(enc), dec, True
    wm.save(tmp_path / "m")
    again = inria.create("watermarker", "hidden", checkpoint=str(tmp_path / "m"))
    again._build()
    assert again.arch.padding == "circular"
    assert all(c.padding_mode == "circular" for c in again.decoder.modules()
               if isinstance(c, torch.nn.Conv2d) and c.padding != (0, 0))
