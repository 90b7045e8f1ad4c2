"""PyTorch-side compression before export: structured/unstructured pruning, dynamic quantization, distillation."""
