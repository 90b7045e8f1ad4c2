"""Host side: model sources, PyTorch -> ONNX, the per-target conversion run (``export_model``), parity and the
accuracy budget."""
