"""edgekit: take a trained PyTorch model to edge devices, measured on its own runtime.

Importing this package stays light: no torch, tensorflow, onnx or runtime is imported here.
"""

__version__ = "0.1.0"
