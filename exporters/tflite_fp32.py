"""``tflite-fp32``: the float32 TFLite model (onnx2tf + TFLite converter), run by the TFLite interpreter."""

from .tflite_common import TfliteTarget

TARGET = TfliteTarget("tflite-fp32", "fp32")
