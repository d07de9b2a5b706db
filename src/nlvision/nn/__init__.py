"""Reusable PyTorch building blocks (no training code)."""
