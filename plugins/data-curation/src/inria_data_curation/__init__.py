"""inria-plugin-data-curation: hierarchical k-means with resampling and balanced
hierarchical sampling (Vo et al. 2024, "Automatic Data Curation for
Self-Supervised Learning: A Clustering-Based Approach").

Modules: ``config`` (the typed Config), ``kmeans`` (k-means++ and Lloyd, one
or many processes), ``backend_faiss`` / ``backend_torch`` (the heavy
operations), ``comm`` (collectives), ``resampling`` (one level: k-means with
resampling, optional split), ``tree`` (the cluster tree in .npy files),
``sampling`` (balanced hierarchical sampling), ``checks`` (bad input),
``evaluation`` (concept balance of a selection), ``toy`` (the paper's 2-D
rings), ``curator`` (the ``hierarchical_kmeans`` Curator).
"""
from .config import HierarchicalKMeansConfig
from .curator import HierarchicalKMeans

__all__ = ["HierarchicalKMeans", "HierarchicalKMeansConfig"]
