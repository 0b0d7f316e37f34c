"""Image operations, once for the whole project, as batched tensor ops.

:mod:`inria.ops.image` holds the operations on float (N, 3, H, W) tensors in
[0, 1] (lists of (3, H, W) tensors for mixed sizes); training-time attack
layers and augmentations are built from them. :mod:`inria.ops.attacks` gives
them the names recipes use (``jpeg_50``, ``crop_0.5``, ``a+b`` ...).
"""
