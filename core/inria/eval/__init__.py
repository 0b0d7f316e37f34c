"""Metrics and evaluation loops shared by every plugin."""
