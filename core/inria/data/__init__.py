"""Shared datasets: image folders, the photographs bundled in scikit-image,
scikit-learn's handwritten digits, and vector files."""
