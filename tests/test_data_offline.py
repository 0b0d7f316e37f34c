"""inria.data.offline: the shared offline training data and its held-out split."""
import torch

from inria.data import offline


def test_held_out_photos_never_feed_training():
    assert not set(offline.HELD_OUT) & set(offline.TRAIN_PHOTOS + offline.TRAIN_TEXTURES)
    crops = offline.held_out_crops(size=64, n=3, seed=0)
    assert crops.shape == (3, 3, 64, 64) and 0 <= float(crops.min()) and float(crops.max()) <= 1


def test_train_images_are_a_pure_function_of_seed_and_index():
    a, b = offline.TrainImages(size=32, length=10, seed=1), offline.TrainImages(size=32, length=10, seed=1)
    assert all(torch.equal(a[i], b[i]) for i in range(5))
    assert not torch.equal(a[0], offline.TrainImages(size=32, length=10, seed=2)[0])
    assert a[3].shape == (3, 32, 32) and len(a) == 10
    crops = offline.CropDataset([torch.rand(3, 20, 30)], size=24, length=4)  # smaller images are upscaled
    assert crops[0].shape == (3, 24, 24)
