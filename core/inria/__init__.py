"""inria: a small core (five interfaces, a plugin registry, a recipe runner and a
training engine) that paper plugins extend through entry points.

The public Python API is the same path the recipe runner takes::

    import inria
    inria.available("codec")                 # names, from metadata only
    jpeg = inria.create("codec", "jpeg", quality=50)
    data = jpeg.compress(images)

Nothing heavy (torch, plugins) is imported by ``import inria``.
"""
from __future__ import annotations

__version__ = "0.1.0"
#: The plugin API version. Plugins declare the range they support as their
#: dependency on ``inria`` (``inria>=0.1,<0.2``); the registry reads it from
#: metadata and refuses a plugin whose range excludes this version.
API_VERSION = __version__

from .errors import InriaError  # noqa: E402


def available(interface: str | None = None):
    """Names of installed implementations (read from metadata, nothing imported)."""
    from .registry import get_registry

    return get_registry().names(interface)


def create(interface: str, name: str, /, **config):
    """Build implementation ``name`` of ``interface`` with a validated config.

    Raises :class:`InriaError` with a did-you-mean or install hint when the
    name is unknown and with the field name when the config is wrong.
    """
    from .registry import get_registry

    return get_registry().create(interface, name, config)


def describe(name: str, interface: str | None = None) -> str:
    from .registry import get_registry

    return get_registry().describe(name, interface)


__all__ = ["InriaError", "available", "create", "describe", "__version__", "API_VERSION"]
