"""``tflite-fp16``: float16 weights, float32 compute and I/O (onnx2tf + TFLite converter)."""

from .tflite_common import TfliteTarget

TARGET = TfliteTarget("tflite-fp16", "fp16")
