"""SSL watermarking ("Watermarking Images in Self-Supervised Latent Spaces", Fernandez et al., ICASSP 2022).

Watermarkers ``ssl_zero_bit`` (hypercone around a secret carrier, p-value
from the incomplete beta function) and ``ssl_multi_bit`` (K orthonormal
carriers, one bit per sign), both marking by pixel optimisation in the
features of any installed Backbone chosen by name; Backbones
``ssl_resnet_cpu`` (trained here with the objective ``simclr``) and
``dino_resnet50`` (the paper's checkpoint format). Nothing heavy is imported here.
"""
__version__ = "0.1.0"
