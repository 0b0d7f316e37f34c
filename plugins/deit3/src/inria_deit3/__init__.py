"""DeiT III ("Revenge of the ViT", Touvron, Cord, Jégou, ECCV 2022) for inria.

- Backbones (``inria.backbone``): ``deit3_tiny`` ... ``deit3_huge`` and
  ``deit3_digits`` (:mod:`inria_deit3.backbone`), built on timm's
  VisionTransformer (:mod:`inria_deit3.vit`);
- official / timm checkpoint loading (:mod:`inria_deit3.checkpoint`);
- training components for the core engine: ``three_augment``
  (``inria.augmentations``, :mod:`inria_deit3.three_augment`); its recipes'
  ``bce`` objective is the core's (``inria.train.objectives``);
- the paper's ImageNet-1k recipes (``recipes/``) and a CPU-sized run on
  scikit-learn's digits (``python -m inria_deit3.train_digits``).

Nothing heavy is imported here.
"""
__version__ = "0.1.0"
