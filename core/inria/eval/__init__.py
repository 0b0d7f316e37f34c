"""Metrics and evaluation loops shared by every plugin."""
from .frechet import frechet_distance, patch_fd, patch_features, patches

__all__ = ["frechet_distance", "patch_fd", "patch_features", "patches"]
