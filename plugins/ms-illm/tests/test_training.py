"""The paper's losses and schedules, the discriminator and tokenizer shapes, and short trainings of each stage."""
import pytest
import torch
import torch.nn.functional as F

from inria_ms_illm.discriminator import ConditionalUnetDiscriminator, oasis_discriminator_loss, oasis_generator_loss
from inria_ms_illm.objectives import RateDistortion, bits_per_pixel, scheduled
from inria_ms_illm.tokenizer import VQTokenizer

TINY = dict(checkpoint="", widths=[4, 4, 8, 8, 8], latent_channels=8, hyper_channels=8, residual_blocks=1)

SMALL_TRAIN = dict(crop=64, disc_channels=[8, 8, 16, 16], tokenizer_channels=[8, 8, 8], codebook_size=32)


def test_target_rate_schedule_as_target_rate_config():
    # NeuralCompression: factor k = number of switch steps already reached
    assert scheduled(0.14, [1.429, 1.0], [50000], 0) == pytest.approx(0.14 * 1.429)
    assert scheduled(0.14, [1.429, 1.0], [50000], 49999) == pytest.approx(0.14 * 1.429)
    assert scheduled(0.14, [1.429, 1.0], [50000], 50000) == pytest.approx(0.14)
    assert scheduled(2.0, [0.5, 1.0], [10], 3) == pytest.approx(1.0)


class _Ctx:
    def __init__(self, module, step=0):
        self.module, self.step, self.micro_step = module, step, 0


def test_rate_weight_switches_per_image_on_the_rounded_rate():
    """Images above the target pay lam_levels[1] x lam2 factor per bit, those below lam_levels[0]."""
    from inria_ms_illm.hific import HiFiCAutoencoder

    torch.manual_seed(0)
    model = HiFiCAutoencoder(TINY["widths"], 8, 8, 1).train()
    x = torch.rand(2, 3, 64, 64)
    x[1] = 0.5  # a flat image: far fewer bits
    with torch.no_grad():
        torch.manual_seed(1)
        out = model(x)
        rates = bits_per_pixel(out["likelihoods_quantized"], 64 * 64)
    target = float(rates.mean())
    assert rates[0] > target > rates[1]
    common = dict(target_factors=[1.0], target_steps=[], lam_levels=[0.25, 4.0], lam2_factors=[0.5, 1.0],
                  lam2_steps=[100], distortion_weight=0.0, perceptual_weight=0.0)
    objective = RateDistortion(target_bpp=target, **common)
    torch.manual_seed(1)
    loss, metrics = objective(model, x, _Ctx(model, step=0))
    torch.manual_seed(1)
    noisy = bits_per_pixel(model(x)["likelihoods"], 64 * 64)
    assert float(loss) == pytest.approx(float((noisy * torch.tensor([4.0 * 0.5, 0.25])).mean()), rel=1e-4)
    assert "quantile_loss" in metrics and metrics["target"] == pytest.approx(target)


def test_oasis_losses_are_the_official_cross_entropies():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2, 5, 3, 3, generator=g), torch.randn(2, 5, 3, 3, generator=g)
    labels = torch.randint(0, 4, (2, 3, 3), generator=g)
    by_hand = 0.5 * (F.cross_entropy(real.permute(0, 2, 3, 1).reshape(-1, 5), (labels + 1).flatten())
                     + F.cross_entropy(fake.permute(0, 2, 3, 1).reshape(-1, 5), torch.zeros(18, dtype=torch.long)))
    assert float(oasis_discriminator_loss(real, fake, labels)) == pytest.approx(float(by_hand), rel=1e-6)
    gen = F.cross_entropy(fake.permute(0, 2, 3, 1).reshape(-1, 5), (labels + 1).flatten())
    assert float(oasis_generator_loss(fake, labels)) == pytest.approx(float(gen), rel=1e-6)


def test_discriminator_and_tokenizer_shapes():
    d = ConditionalUnetDiscriminator(33, context_in=8, context_out=4, channels=[8, 8, 16, 16])
    logits = d(torch.rand(2, 3, 64, 96), torch.rand(2, 8, 4, 6))
    assert logits.shape == (2, 33, 8, 12)  # K + 1 classes at 1/8 resolution
    paper = ConditionalUnetDiscriminator()  # the paper's widths, 1025 classes, context 220 -> 16
    assert paper.head[-1].out_channels == 1025 and paper.context[0].in_channels == 220
    tok = VQTokenizer((8, 8, 8), codebook_size=1024)
    idx = tok.indices(torch.rand(2, 3, 64, 96))
    assert idx.shape == (2, 8, 12) and idx.dtype == torch.long and 0 <= int(idx.min()) and int(idx.max()) < 1024


def test_tokenizer_training_lowers_its_error_and_uses_many_codes():
    from inria.train import Trainer

    from inria_ms_illm.data import RandomCrops, photos

    torch.manual_seed(0)
    tok = VQTokenizer((8, 16, 16), codebook_size=64)
    crops = RandomCrops(photos(["camera", "coins"]), 64, length=150 * 8)
    before = float(tok(torch.stack([crops[i] for i in range(8)]))["mse"])
    out = Trainer(tok, crops, dict(steps=150, batch_size=8, lr=3e-3, objective="ms_illm_vqvae", weight_decay=0.0,
                                   log_every=50)).fit()
    assert out["mse"] < 0.6 * before
    assert out["perplexity"] > 4  # dead codes restarted: more than a handful in use


def _crops_psnr(codec, images) -> float:
    """Mean PSNR of the codec on 12 held-fixed 64x64 crops of the training images (coded to bytes and back)."""
    from inria.eval.metrics import psnr

    from inria_ms_illm.data import RandomCrops

    crops = RandomCrops(images, 64, 12, seed=99)
    return float(sum(psnr(crops[i][None], codec.decompress(codec.compress(crops[i]))[None])[0]
                     for i in range(12)) / 12)


@pytest.fixture(scope="module")
def trained_pair(tmp_path_factory):
    """A tiny noganms trained for 80 steps, then ms_illm fine-tuned from it (stage 2 only)."""
    import inria
    from inria.context import StepContext

    from inria_ms_illm.data import photos

    images = photos(["camera", "coins", "clock"])
    base = tmp_path_factory.mktemp("pair")
    torch.manual_seed(0)
    nogan = inria.create("codec", "noganms", **TINY, **SMALL_TRAIN, target_bpp=0.3,
                         stage1=dict(steps=80, batch_size=4, lr=1e-3, log_every=40, weight_decay=0.0))
    fresh = _crops_psnr(nogan, images)
    metrics = nogan.fit(images, ctx=StepContext.standalone(base / "n"))
    nogan_dir = nogan.save(base / "noganms")
    gan = inria.create("codec", "ms_illm", checkpoint=str(nogan_dir), stages="stage2", **SMALL_TRAIN,
                       tokenizer=dict(steps=10, batch_size=4, log_every=5, weight_decay=0.0),
                       stage2=dict(steps=10, batch_size=2, log_every=5, lr=1e-3, weight_decay=0.0))
    gan_metrics = gan.fit(images, ctx=StepContext.standalone(base / "g"))
    return images, nogan, gan, metrics, gan_metrics, fresh


def test_stage1_improves_the_reconstruction(trained_pair):
    images, nogan, _, metrics, _, fresh = trained_pair
    assert _crops_psnr(nogan, images) > fresh + 2
    assert metrics["stage1/steps"] == 80 and "stage1/bpp" in metrics


def test_stage2_moves_only_the_generator_and_keeps_the_rate(trained_pair):
    images, nogan, gan, _, gan_metrics, _ = trained_pair
    a, b = nogan.state_dict(), gan.state_dict()
    moved = {k for k in a if not torch.equal(a[k], b[k])}
    assert moved and all(k.startswith("decoder.") for k in moved)
    crop = images[1][:, :128, :128]
    assert len(gan.compress(crop)) == len(nogan.compress(crop))  # same encoder and entropy models
    assert gan.model_id != nogan.model_id
    assert {"stage2/disc_loss", "stage2/gen_adv_loss", "tokenizer/mse"} <= set(gan_metrics)
