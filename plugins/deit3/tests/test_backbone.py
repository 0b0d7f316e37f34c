"""Backbone verbs: fit through the core engine, embed, classify, evaluate, save/load."""
import numpy as np
import pytest
import torch

import inria
from inria.context import StepContext
from inria.errors import InriaError

TINY = dict(img_size=16, patch_size=4, embed_dim=32, depth=1, num_heads=2, num_classes=2, drop_path=0.0)


def _task(n, seed):
    """Two classes that survive 3-Augment without solarisation: dark or bright images (noise, random contrast)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 3, 16, 16, generator=g) * 0.5 + 0.4 * y.view(-1, 1, 1, 1).float()
    return x.clamp(0, 1), y.numpy()


def _train(**train):
    cfg = dict(epochs=0, steps=60, batch_size=32, optimizer="lamb", lr=1e-2, warmup_steps=5, objective="bce",
               augmentation=["three_augment"], log_every=20,
               augmentation_args={"three_augment": {"crop": "src", "padding": 1, "hflip": True, "solarize": False,
                                                    "color_jitter": 0.3}})
    cfg.update(train)
    return cfg


def test_fit_with_three_augment_bce_lamb_learns_the_task(tmp_path):
    torch.manual_seed(0)
    b = inria.create("backbone", "deit3_tiny", **TINY, train=_train())
    x, y = _task(256, 0)
    xt, yt = _task(128, 1)
    before = float((b.classify(xt).argmax(-1).numpy() == yt).mean())
    out = b.fit_step(StepContext.standalone(tmp_path, step_id="fit"), images=x, labels=y)
    acc = float((b.classify(xt).argmax(-1).numpy() == yt).mean())
    assert acc >= 0.95 and before < 0.8
    assert out["metrics"]["steps"] == 60
    assert (out["model"] / "card.yaml").is_file() and (out["model"] / "weights.safetensors").is_file()
    assert (tmp_path / "checkpoints" / "last.pt").is_file()  # the engine checkpointed the run
    # the model directory reloads to the same function
    again = type(b).load(out["model"])
    assert torch.allclose(again.classify(xt), b.classify(xt), atol=1e-6)


def test_fit_with_mixup_gets_num_classes_from_the_config(tmp_path):
    b = inria.create("backbone", "deit3_tiny", **TINY, train=_train(
        steps=2, augmentation=["three_augment", "mixup"],
        augmentation_args={"mixup": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "label_smoothing": 0.0}}))
    x, y = _task(64, 0)
    metrics = b.fit(x, y, ctx=StepContext.standalone(tmp_path))
    assert metrics["steps"] == 2 and np.isfinite(metrics["loss"])


def test_fit_rejects_bad_labels(tmp_path):
    b = inria.create("backbone", "deit3_tiny", **TINY)
    x, y = _task(8, 0)
    with pytest.raises(InriaError, match="outside \\[0, 2\\)"):
        b.fit(x, y + 5)
    with pytest.raises(InriaError, match="3 labels for 8 images"):
        b.fit(x, y[:3])


def test_embed_classify_evaluate_shapes_and_resizing(tmp_path):
    b = inria.create("backbone", "deit3_tiny", **TINY)
    imgs = [torch.rand(3, 16, 16), torch.rand(3, 40, 24), torch.rand(1, 16, 16)]  # mixed sizes, grayscale
    v = b.embed(imgs)
    assert v.shape == (3, 32) and v.dtype == np.float32
    assert b.classify(torch.rand(5, 3, 16, 16)).shape == (5, 2)
    x, y = _task(20, 3)
    m = b.evaluate_step(StepContext.standalone(tmp_path), images=x, labels=y, knn_k=3)["metrics"]
    assert set(m) == {"top1", "knn3"} and 0 <= m["top1"] <= 1


@pytest.mark.parametrize("bad,match", [(torch.rand(2, 4, 16, 16), "channels"), ("not images", "expected images"),
                                       (torch.full((1, 3, 16, 16), float("nan")), "NaN")])
def test_bad_images(bad, match):
    b = inria.create("backbone", "deit3_tiny", **TINY)
    with pytest.raises(InriaError, match=match):
        b.embed(bad)


def test_model_directory_of_another_implementation_is_refused(tmp_path):
    b = inria.create("backbone", "deit3_tiny", **TINY)
    b.save(tmp_path / "m")
    from inria.registry import get_registry

    small = get_registry().load("backbone", "deit3_small")
    with pytest.raises(InriaError, match="holds a 'deit3_tiny' model"):
        small.load(tmp_path / "m")
    # ... but its weights load as a checkpoint into a config of the same shape
    same = inria.create("backbone", "deit3_small", **dict(TINY), checkpoint=str(tmp_path / "m"))
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(same.classify(x), b.classify(x), atol=1e-6)


def test_uniform_drop_path():
    b = inria.create("backbone", "deit3_tiny", **dict(TINY, depth=3, drop_path=0.1))
    rates = [blk.drop_path1.drop_prob for blk in b.module.blocks] + [blk.drop_path2.drop_prob for blk in b.module.blocks]
    assert rates == [0.1] * 6


def test_fit_step_starts_from_an_earlier_model_at_another_resolution(tmp_path):
    pre = inria.create("backbone", "deit3_tiny", **TINY)
    with torch.no_grad():
        pre.module.blocks[0].ls1.gamma.fill_(0.5)
    pre.save(tmp_path / "pre")
    ft = inria.create("backbone", "deit3_tiny", **dict(TINY, img_size=24), train=_train(steps=1, lr=0.0,
                                                                                          warmup_steps=0))
    x, y = _task(32, 0)
    out = ft.fit_step(StepContext.standalone(tmp_path / "ft"), images=x, labels=y, init=tmp_path / "pre")
    assert ft.module.pos_embed.shape == (1, 36, 32)  # 4x4 grid resampled to 6x6
    assert torch.allclose(ft.module.blocks[0].ls1.gamma, torch.full((32,), 0.5))  # lr 0: the loaded weights
    assert type(ft).load(out["model"]).config.img_size == 24


def test_features_are_embed_with_gradients_to_the_pixels():
    """Backbone.features: what pixel-optimising methods (SSL watermarking) call by name."""
    import inria
    import torch

    bb = inria.create("backbone", "deit3_digits")
    x = torch.rand(2, 3, 40, 40, requires_grad=True)
    ft = bb.features(x)
    ft.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.allclose(ft.detach(), torch.from_numpy(bb.embed(x.detach())), atol=1e-4)
