"""The edgekit version (a leaf module: everything that records it imports it from here)."""

__version__ = "0.1.0"
