"""NeuralCompression msillm_quality_* state dicts load from a path (a file of that format is built here).

The names and shapes below are written out from NeuralCompression's ``HiFiCEncoder``, ``HiFiCGenerator`` and
``HiFiCAutoencoder`` (neuralcompression/models/_hific_*.py), not from this plugin's modules; the entropy models
are CompressAI's, as in the official code.
"""
import torch
import torch.nn.functional as F


def official_state_dict(widths=(6, 8, 10, 12, 14), latent=10, hyper=12, blocks=2, seed=0):
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional

    g = torch.Generator().manual_seed(seed)
    sd = {}

    def conv(name, cout, cin, k, transposed=False):
        shape = (cin, cout, k, k) if transposed else (cout, cin, k, k)
        sd[f"{name}.weight"] = torch.randn(shape, generator=g) * (1.0 / (cin * k * k)) ** 0.5
        sd[f"{name}.bias"] = torch.randn(cout, generator=g) * 0.01

    def norm(name, c):
        sd[f"{name}.gamma"] = 1 + 0.1 * torch.randn(1, c, 1, 1, generator=g)
        sd[f"{name}.beta"] = 0.1 * torch.randn(1, c, 1, 1, generator=g)

    cin = 3
    for i, c in enumerate(widths):  # encoder.blocks.i = Sequential(conv, ChannelNorm2D, ReLU)
        conv(f"encoder.blocks.{i}.0", c, cin, 7 if i == 0 else 3)
        norm(f"encoder.blocks.{i}.1", c)
        cin = c
    conv("encoder.blocks.5", latent, cin, 3)
    filters = list(reversed(widths))
    norm("decoder.block_0.0", latent)
    conv("decoder.block_0.1", filters[0], latent, 3)
    norm("decoder.block_0.2", filters[0])
    for b in range(blocks):  # _ResidualBlock.sequence = conv, norm, ReLU, conv, norm
        conv(f"decoder.resid_blocks.{b}.sequence.0", filters[0], filters[0], 3)
        norm(f"decoder.resid_blocks.{b}.sequence.1", filters[0])
        conv(f"decoder.resid_blocks.{b}.sequence.3", filters[0], filters[0], 3)
        norm(f"decoder.resid_blocks.{b}.sequence.4", filters[0])
    for i, (a, b) in enumerate(zip(filters[:-1], filters[1:])):
        conv(f"decoder.blocks.{i}.0", b, a, 3, transposed=True)
        norm(f"decoder.blocks.{i}.1", b)
    conv("decoder.blocks.4", 3, filters[-1], 7)
    conv("hyper_analysis.0", hyper, latent, 3)
    conv("hyper_analysis.2", hyper, hyper, 5)
    conv("hyper_analysis.4", hyper, hyper, 5)
    for branch in ("mean", "scale"):
        conv(f"hyper_synthesis_{branch}.0", hyper, hyper, 5, transposed=True)
        conv(f"hyper_synthesis_{branch}.2", hyper, hyper, 5, transposed=True)
        conv(f"hyper_synthesis_{branch}.4", latent, hyper, 3)
    torch.manual_seed(seed)
    eb, gc = EntropyBottleneck(hyper), GaussianConditional(None)
    eb.update(force=True)
    gc.update_scale_table(torch.exp(torch.linspace(torch.log(torch.tensor(0.11)), torch.log(torch.tensor(256.)), 64)))
    sd.update({f"hyper_bottleneck.{k}": v for k, v in eb.state_dict().items()})
    sd.update({f"latent_bottleneck.{k}": v for k, v in gc.state_dict().items()})
    return sd


def test_official_file_loads_with_its_architecture_and_codes(tmp_path, photo):
    import inria

    sd = official_state_dict()
    path = tmp_path / "msillm_target_0.14bpp.ckpt"
    torch.save(sd, path)
    codec = inria.create("codec", "ms_illm", official=str(path))
    c = codec.config
    assert (c.widths, c.latent_channels, c.hyper_channels, c.residual_blocks) == ([6, 8, 10, 12, 14], 10, 12, 2)
    assert c.centered is False and codec.model.centered is False  # official weights take raw [0, 1] pixels
    mine = codec.model.state_dict()
    for name, value in sd.items():
        assert torch.equal(mine[name], value), name
    # the first official block, computed here from the file: conv, ChannelNorm2D (unbiased var, eps 1e-3), ReLU
    x = photo[None, :, :16, :16]
    h = F.conv2d(x, sd["encoder.blocks.0.0.weight"], sd["encoder.blocks.0.0.bias"], padding=3)
    h = (h - h.mean(1, keepdim=True)) * torch.rsqrt(h.var(1, keepdim=True) + 1e-3)
    h = torch.relu(sd["encoder.blocks.0.1.gamma"] * h + sd["encoder.blocks.0.1.beta"])
    with torch.no_grad():
        assert torch.allclose(codec.model.encoder.blocks[0](x), h, atol=1e-5)
    data = codec.compress(photo)
    assert codec.decompress(data).shape == photo.shape


def test_file_saved_before_update_and_older_compressai_names(tmp_path, photo):
    """No CDF tables (a checkpoint taken before update()) and no constant buffers: tables are rebuilt."""
    import inria

    sd = {k: v for k, v in official_state_dict(seed=2).items()
          if not k.endswith(("_quantized_cdf", "_offset", "_cdf_length", ".bound", ".target"))}
    path = tmp_path / "noganms.pth"
    torch.save({"state_dict": sd}, path)
    codec = inria.create("codec", "noganms", official=str(path))
    assert codec.model.latent_bottleneck._quantized_cdf.numel() > 0
    assert codec.decompress(codec.compress(photo)).shape == photo.shape
