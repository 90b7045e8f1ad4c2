"""Lightweight reference models (torch)."""
