"""The five interfaces. Each class's docstring is the contract (its module docstring sums it up)."""
from .backbone import Backbone
from .base import Component, VerbSpec, verb
from .codec import Codec
from .curator import Curator
from .index import Index
from .types import ARTIFACT_TYPES, Detection
from .watermarker import Watermarker

#: interface name -> base class; the entry-point group is ``inria.<name>``
INTERFACES = {
    "index": Index,
    "codec": Codec,
    "watermarker": Watermarker,
    "curator": Curator,
    "backbone": Backbone,
}

__all__ = ["Backbone", "Codec", "Component", "Curator", "Detection", "Index", "INTERFACES",
           "ARTIFACT_TYPES", "VerbSpec", "Watermarker", "verb"]
