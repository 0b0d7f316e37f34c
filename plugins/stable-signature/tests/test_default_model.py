"""The shipped default models do what their cards record (re-measured here) and never flag unmarked images.

The issue's target for the shipped stable_signature model (>= 41 of 48 bits,
FPR 1e-6, unattacked and after crop_0.5, jpeg_80, brightness_1.5) is NOT met
by these CPU-trained models: see the README's Status. These tests hold them
to what they are, so a retrained model must at least match its own card.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

import inria
import inria_stable_signature
from inria.modeldir import read_card
from inria.ops.attacks import apply
from inria_stable_signature.data import held_out_crops

MODELS = Path(inria_stable_signature.__file__).parent / "models"
ATTACKS = ["none", "crop_0.5", "jpeg_80", "brightness_1.5"]


@pytest.fixture(scope="module")
def shipped():
    info = read_card(MODELS / "stable_signature")["extra"]["info"]
    p = info["params"]
    ss = inria.create("watermarker", "stable_signature")
    x = held_out_crops(p["eval_size"], p["eval_images"], seed=p["seed"] + 11)
    marked, plain = ss.decode_pair(x)
    return ss, info["held_out"], x, torch.stack(marked), plain


@pytest.mark.parametrize("attack", ATTACKS)
def test_card_bit_accuracy_is_reproduced(shipped, attack):
    ss, held, _, marked, _ = shipped
    bits, _ = ss.extract(list(apply(attack, marked).unbind(0)))
    assert float(np.mean(bits == ss.key)) == pytest.approx(held[attack]["bit_accuracy"], abs=2e-3)


def test_the_key_is_in_the_decoder_and_unmarked_images_are_not_flagged(shipped):
    ss, held, x, marked, plain = shipped
    # marked images agree with the key clearly more than the same images decoded without the watermark
    assert held["none"]["bit_accuracy"] > held["unmarked_bit_accuracy"] + 0.1
    assert float(np.mean(ss.detect(plain).bit_accuracy)) == pytest.approx(held["unmarked_bit_accuracy"], abs=2e-3)
    assert not ss.detect(plain).detected.any() and not ss.detect(x).detected.any()
    # the watermark's cost against D(z), the paper's measure, as recorded
    from inria.eval.metrics import image_quality

    assert image_quality(plain, list(marked.unbind(0)))["psnr"] == pytest.approx(held["psnr_vs_decode"], abs=0.05)


def test_the_shipped_extractor_keeps_its_training_padding(shipped):
    """Conv padding is not in the state dict: the card must carry it, or the extractor misreads (circular here)."""
    from inria_stable_signature.hidden import ARCHS

    ss = shipped[0]
    arch = ARCHS[read_card(MODELS / "stable_signature")["extra"]["info"]["params"]["hidden_arch"]]
    convs = [m for m in ss.extractor.modules() if isinstance(m, torch.nn.Conv2d) and m.padding != (0, 0)]
    assert convs and all(c.padding_mode == arch.padding for c in convs)
