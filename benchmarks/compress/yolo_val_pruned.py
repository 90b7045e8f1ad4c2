"""yolo val (Ultralytics' own settings) of the pruned checkpoints edgekit compress wrote beside its TorchScript.

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/compress/yolo_val_pruned.py benchmarks/compress/yolo-val-pruned.json /tmp/shapes-yolo/data.yaml
"""
import json, sys
from ultralytics import YOLO, settings
settings.update({"sync": False})
out = {}
for name, path in (("yolov8n-shapes-p30-labels-e5", "/tmp/yolov8n-shapes-p30-labels-e5-ultralytics.pt"),
                   ("yolo11n-shapes-p30-labels-e2", "/tmp/yolo11n-shapes-p30-labels-e2-ultralytics.pt")):
    r = YOLO(path).val(data=sys.argv[2], imgsz=256, batch=16, device="cpu", plots=False, verbose=False)
    out[name] = {"checkpoint": path.split("/")[-1], "map50_95": r.box.map, "map50": r.box.map50}
json.dump(out, open(sys.argv[1], "w"), indent=2)
