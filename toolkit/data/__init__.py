"""Device side: datasets users bring (COCO JSON, YOLO, ImageFolder), the built-in ones, preprocessing and
calibration sets; numpy + Pillow, no torch or TensorFlow."""

#: INT8 calibration images when nobody says (export, recipes, sweeps, the API): declared here, light to import
DEFAULT_CALIBRATION_IMAGES = 128
