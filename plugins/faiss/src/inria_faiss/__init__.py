"""inria-plugin-faiss: the inria Index interface on Faiss.

``inria.create("index", "faiss", factory="IVF1024,PQ16", metric="cosine")``
builds any ``index_factory`` string; see README.md for the config, the
verbs, GPU packaging and the OpenMP thread settings.
"""
__version__ = "0.1.0"

from .threads import get_threads, set_threads  # noqa: E402


def __getattr__(name):
    # importing the package stays light; FaissIndex pulls in faiss and numpy
    if name in ("FaissIndex", "FaissConfig"):
        from . import config, index

        return {"FaissIndex": index.FaissIndex, "FaissConfig": config.FaissConfig}[name]
    raise AttributeError(name)


__all__ = ["FaissIndex", "FaissConfig", "set_threads", "get_threads", "__version__"]
