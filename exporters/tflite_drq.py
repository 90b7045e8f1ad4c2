"""``tflite-drq``: dynamic-range quantization: int8 weights, float activations and I/O. Not full integer."""

from .tflite_common import TfliteTarget

TARGET = TfliteTarget("tflite-drq", "drq")
