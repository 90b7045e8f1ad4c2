"""Device side: datasets users bring (COCO JSON, YOLO, ImageFolder), the built-in ones, preprocessing and
calibration sets; numpy + Pillow, no torch or TensorFlow."""
