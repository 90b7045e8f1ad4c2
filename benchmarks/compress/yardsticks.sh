#!/usr/bin/env bash
# The compression yardsticks of issue 21, one compress --json report per point, each beside its control (the
# unpruned model fine-tuned with the same recipe and epochs). Built-in models run in edgekit's venv (.venv);
# the YOLO ones in the Ultralytics venv (/tmp/ul, README "Real YOLO models") on the shapes-det YOLO split
# written by benchmarks/yolov8n/make_data.py into /tmp/shapes-yolo. Run one case at a time on an otherwise
# idle machine: two torch jobs on 2 cores spin against each other (OpenMP) and ran ~10x slower once.
#   bash benchmarks/compress/yardsticks.sh nano|nano-det-variants|criteria|yolov8n|steps|yolo11n
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=benchmarks/compress
EK=.venv/bin/edgekit
UL="env YOLO_OFFLINE=1 /tmp/ul/bin/edgekit"
YOLO_DATA=/tmp/shapes-yolo/data.yaml
run() { local name=$1; shift; echo "== $name: $*"; "$@" -o "/tmp/$name.pt" --force --json "$OUT/$name.json" | tail -8; }
case "${1:-nano}" in
  nano)
    run nano-det-p50-labels-e6 $EK compress nano-det --prune 0.5 --prune-by macs --recover labels --epochs 6 --kd-images 2048
    run nano-det-control-e6 $EK compress nano-det --recover labels --epochs 6 --kd-images 2048
    run nano-cls-p50-labels-e10 $EK compress nano-cls --prune 0.5 --prune-by macs --recover labels --epochs 10 --kd-images 2048
    run nano-cls-control-e10 $EK compress nano-cls --recover labels --epochs 10 --kd-images 2048 ;;
  nano-det-variants)  # criterion and EMA on the built-in detector, same budget as nano-det-p50-labels-e6
    run nano-det-p50-taylor-labels-e6 $EK compress nano-det --prune 0.5 --prune-by macs --importance taylor \
      --recover labels --epochs 6 --kd-images 2048
    run nano-det-p50-taylor-labels-ema-e6 $EK compress nano-det --prune 0.5 --prune-by macs --importance taylor \
      --recover labels --epochs 6 --kd-images 2048 --ema 0.999 ;;
  yolov8n)  # -30 % and -50 % MACs and the control, same recipe: all 3000 train images, 10 epochs
    for ratio in 30 50; do
      run yolov8n-shapes-p$ratio-labels-e10 $UL compress benchmarks/models/yolov8n-shapes.pt --trust --prune 0.$ratio \
        --prune-by macs --recover labels --epochs 10 --kd-images 3000 --data $YOLO_DATA
    done
    run yolov8n-shapes-control-e10 $UL compress benchmarks/models/yolov8n-shapes.pt --trust --recover labels --epochs 10 \
      --kd-images 3000 --data $YOLO_DATA ;;
  criteria)  # Torch-Pruning's importance criteria on the real YOLOv8n: -30 % MACs, then one epoch of recovery
    for imp in l2 taylor hessian; do
      run yolov8n-shapes-p30-$imp-e1 $UL compress benchmarks/models/yolov8n-shapes.pt --trust --prune 0.3 \
        --prune-by macs --importance $imp --recover labels --epochs 1 --kd-images 3000 --data $YOLO_DATA
    done ;;
  steps)  # iterative pruning on YOLOv8n: -50 % MACs in 1 or 2 prune-recover cycles, same 10 epochs in all
    run yolov8n-shapes-p50-steps2-labels-e10 $UL compress benchmarks/models/yolov8n-shapes.pt --trust --prune 0.5 \
      --prune-by macs --steps 2 --recover labels --epochs 10 --kd-images 3000 --data $YOLO_DATA ;;
  yolo11n)  # -30 % MACs and the control, the YOLOv8n recipe with 5 epochs
    run yolo11n-shapes-p30-labels-e5 $UL compress benchmarks/models/yolo11n-shapes.pt --trust --prune 0.3 --prune-by macs \
      --recover labels --epochs 5 --kd-images 3000 --data $YOLO_DATA
    run yolo11n-shapes-control-e5 $UL compress benchmarks/models/yolo11n-shapes.pt --trust --recover labels --epochs 5 \
      --kd-images 3000 --data $YOLO_DATA ;;
  act)  # SiLU -> ReLU on YOLOv8n, recovered with the YOLOv8n recipe (its control: yolov8n-shapes-control-e10)
    run yolov8n-shapes-relu-labels-e10 $UL compress benchmarks/models/yolov8n-shapes.pt --trust --act relu \
      --recover labels --epochs 10 --kd-images 3000 --data $YOLO_DATA
    .venv/bin/python benchmarks/compress/pruned_int8.py /tmp/yolov8n-shapes-relu-labels-e10.pt yolov8n-shapes-relu \
      --data $YOLO_DATA ;;
esac
