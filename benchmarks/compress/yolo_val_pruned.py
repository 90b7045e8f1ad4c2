"""``yolo val`` (Ultralytics' own loader and settings) of the pruned checkpoints ``edgekit compress`` wrote beside
its TorchScript (``OUT-ultralytics.pt``), next to edgekit's score of the same model from its compress report.

    bash benchmarks/compress/yardsticks.sh yolov8n; bash benchmarks/compress/yardsticks.sh yolo11n   # writes them
    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/compress/yolo_val_pruned.py /tmp/shapes-yolo/data.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: report name (benchmarks/compress/NAME.json) -> checkpoint yardsticks.sh left in /tmp
CHECKPOINTS = {
    name: Path(f"/tmp/{name}-ultralytics.pt")
    for name in ("yolov8n-shapes-p30-labels-e10", "yolov8n-shapes-p50-labels-e10", "yolo11n-shapes-p30-labels-e5")
}


def main() -> None:
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    out = {}
    for name, path in CHECKPOINTS.items():
        result = YOLO(str(path)).val(data=sys.argv[1], imgsz=256, batch=16, device="cpu", plots=False, verbose=False)
        edgekit = json.loads((HERE / f"{name}.json").read_text())["after"]["metrics"]
        out[name] = {
            "checkpoint": path.name,
            "yolo_val_map50_95": result.box.map,
            "yolo_val_map50": result.box.map50,
            "edgekit_map50_95": edgekit["map50_95"],
            "edgekit_map50": edgekit["map50"],
        }
    (HERE / "yolo-val-pruned.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
