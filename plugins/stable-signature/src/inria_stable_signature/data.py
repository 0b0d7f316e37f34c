"""Offline training data: the core's ``inria.data.offline`` (photos, textures, procedural images, held-out split).

Re-exported here so this plugin's modules and its users' imports keep working;
the SSL-watermarking plugin trains on the same data and split.
"""
from inria.data.offline import (HELD_OUT, TRAIN_PHOTOS, TRAIN_TEXTURES, CropDataset, TrainImages,  # noqa: F401
                                held_out_crops, photo, procedural)
