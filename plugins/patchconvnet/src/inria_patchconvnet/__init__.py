"""PatchConvNet ("Augmenting Convolutional networks with attention-based aggregation", Touvron et al. 2021) for inria.

- Backbones (``inria.backbone``): ``patchconvnet_s60``, ``_s120``, ``_b60``,
  ``_b120``, ``_l60``, ``_l120`` and ``patchconvnet_digits``
  (:mod:`inria_patchconvnet.backbone`; the architecture in
  :mod:`inria_patchconvnet.patchconvnet`);
- the official deit-repo checkpoints from a local path (:mod:`inria_patchconvnet.checkpoint`);
- the pooling layer's attention maps (``attention_maps``; drawn per class by ``benchmarks/patchconvnet_digits.py``);
- a CPU-sized run on scikit-learn's digits (``python -m inria_patchconvnet.train_digits``)
  whose model ships as ``patchconvnet_digits``' default checkpoint.

Nothing heavy is imported here.
"""
__version__ = "0.1.0"
