"""cosub ("Co-training 2^L Submodels for Visual Recognition", Touvron et al., CVPR 2023) for inria.

One training objective, ``cosub`` (``inria.objectives``, :mod:`inria_cosub.objective`),
usable with any Backbone whose blocks have stochastic depth. Nothing heavy is imported here.
"""
__version__ = "0.1.0"
