#!/usr/bin/env bash
# The compression yardsticks of issue 21, one compress --json report per point, each beside its control (the
# unpruned model fine-tuned with the same recipe and epochs). Built-in models run in edgekit's venv (.venv);
# the YOLO ones in the Ultralytics venv (/tmp/ul, README "Real YOLO models") on the shapes-det YOLO split
# written by benchmarks/yolov8n/make_data.py into /tmp/shapes-yolo. Run one case at a time on an otherwise
# idle machine: two torch jobs on 2 cores spin against each other (OpenMP) and ran ~10x slower once.
#   bash benchmarks/compress/yardsticks.sh nano|criteria|steps|yolo11n|act|pad|pipeline|pipeline-relu|roofline|converged|converged-yolo11n|converged-yolo26n|converged-yolo26n-boxkd|sparsity
# then: ratio_table.py for YOLOv8n (its docstring), yolo_val_pruned.py in the Ultralytics venv
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=benchmarks/compress
UL_VENV=${UL_VENV:-/tmp/ul}  # the Ultralytics venv
UL="env YOLO_OFFLINE=1 $UL_VENV/bin/edgekit"
YOLO_DATA=/tmp/shapes-yolo/data.yaml
run() { local name=$1; shift; echo "== $name: $*"; "$@" -o "/tmp/$name.pt" --force --json "$OUT/$name.json" | tail -8; }
case "${1:-nano}" in
  nano)  # the built-in models: each ratio beside its control, exported and benched (seed 002's table)
    .venv/bin/python $OUT/ratio_table.py nano-cls nano-cls --epochs 10 --kd-images 2048
    .venv/bin/python $OUT/ratio_table.py nano-det nano-det --ratios 0,0.5 --epochs 12 --kd-images 2048 ;;
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
      --data $YOLO_DATA --label "relu (--act relu, 10 epochs)" ;;
  pad)  # TensorFlow SAME padding on the strided convs (no TFLite PAD ops), recovered like --act relu
    run yolov8n-shapes-pad-labels-e10 $UL compress benchmarks/models/yolov8n-shapes.pt --trust --pad same \
      --recover labels --epochs 10 --kd-images 3000 --data $YOLO_DATA
    .venv/bin/python benchmarks/compress/pruned_int8.py /tmp/yolov8n-shapes-pad-labels-e10.pt yolov8n-shapes-pad \
      --data $YOLO_DATA --label "pad (--pad same, 10 epochs)" ;;
  pipeline)  # -50 % MACs + INT8 on three runtimes as one edgekit pipeline recipe, against the original
    YOLO_OFFLINE=1 $UL_VENV/bin/edgekit pipeline benchmarks/recipes/yolov8n-shapes-p50-int8.toml --trust --force
    .venv/bin/python $OUT/pruned_int8.py --from-pipeline runs/yolov8n-shapes-p50-int8 yolov8n-shapes-p50 \
      --label "pruned -50 % (pipeline)" ;;
  pipeline-relu)  # the same with --act relu in the recipe (ReLU fuses into INT8 convolutions)
    YOLO_OFFLINE=1 $UL_VENV/bin/edgekit pipeline benchmarks/recipes/yolov8n-shapes-p50-relu-int8.toml --trust --force
    .venv/bin/python $OUT/pruned_int8.py --from-pipeline runs/yolov8n-shapes-p50-relu-int8 yolov8n-shapes-p50-relu \
      --label "pruned -50 % + relu (pipeline)" ;;
  roofline)  # the fraction of this CPU's INT8 conv ceiling each rewrite's artifacts reach, before and after
    .venv/bin/python benchmarks/roofline.py --peers $OUT/yolov8n-shapes-relu-int8.json $OUT/yolov8n-shapes-pad-int8.json \
      --out compress/roofline-rewrites ;;
  converged)  # issue 39: recovery methods on YOLOv8n -30 % MACs against the converged original (70 epochs of
    # training), each with the same EPOCHS of recovery (default 7: 10 % of the original's), and the control
    M=benchmarks/models/yolov8n-shapes-converged.pt; E=${EPOCHS:-7}
    COMMON=(--trust --recover labels --epochs "$E" --kd-images 3000 --data $YOLO_DATA)
    run yolov8n-converged-control-e$E $UL compress $M "${COMMON[@]}"
    run yolov8n-converged-p30-l2-e$E $UL compress $M --prune 0.3 --prune-by macs "${COMMON[@]}"
    run yolov8n-converged-p30-taylor-e$E $UL compress $M --prune 0.3 --prune-by macs --importance taylor "${COMMON[@]}"
    run yolov8n-converged-p30-steps2-e$E $UL compress $M --prune 0.3 --prune-by macs --steps 2 "${COMMON[@]}" ;;
  converged-yolo11n)  # issue 39: the same on the converged YOLO11n (60 epochs of training): control, l2, Taylor
    M=benchmarks/models/yolo11n-shapes-converged.pt; E=${EPOCHS:-7}
    COMMON=(--trust --recover labels --epochs "$E" --kd-images 3000 --data $YOLO_DATA)
    run yolo11n-converged-control-e$E $UL compress $M "${COMMON[@]}"
    run yolo11n-converged-p30-l2-e$E $UL compress $M --prune 0.3 --prune-by macs "${COMMON[@]}"
    run yolo11n-converged-p30-taylor-e$E $UL compress $M --prune 0.3 --prune-by macs --importance taylor "${COMMON[@]}" ;;
  converged-yolo26n)  # issue 39: the converged YOLO26n with its one-to-many head (compress drops the end-to-end
    # one: --head o2m), 46 epochs of training: control and l2 -30 % MACs, 7 epochs each
    M=benchmarks/models/yolo26n-shapes-converged.pt; E=${EPOCHS:-7}
    COMMON=(--trust --head o2m --recover labels --epochs "$E" --kd-images 3000 --data $YOLO_DATA)
    run yolo26n-converged-p30-l2-e$E $UL compress $M --prune 0.3 --prune-by macs "${COMMON[@]}"
    run yolo26n-converged-control-e$E $UL compress $M "${COMMON[@]}" ;;
  converged-yolo26n-boxkd)  # issue 39: the same two runs after distillation gained a box term for heads without
    # DFL bins (YOLO26: L1 between the student's and the teacher's distances; before, the box KL was zero)
    M=benchmarks/models/yolo26n-shapes-converged.pt; E=${EPOCHS:-7}
    COMMON=(--trust --head o2m --recover labels --epochs "$E" --kd-images 3000 --data $YOLO_DATA)
    run yolo26n-converged-p30-l2-boxkd-e$E $UL compress $M --prune 0.3 --prune-by macs "${COMMON[@]}"
    run yolo26n-converged-control-boxkd-e$E $UL compress $M "${COMMON[@]}" ;;
  sparsity)  # issue 39: 3 of the same 7 epochs train with group sparsity regularization before pruning
    M=benchmarks/models/yolov8n-shapes-converged.pt; E=${EPOCHS:-7}
    run yolov8n-converged-p30-sparsity3-e$E $UL compress $M --prune 0.3 --prune-by macs --sparsity-epochs 3 \
      --trust --recover labels --epochs "$E" --kd-images 3000 --data $YOLO_DATA ;;
  *) echo "yardsticks.sh: no case '$1' (nano|criteria|steps|yolo11n|act|pad|pipeline|pipeline-relu|roofline|converged|converged-yolo11n|converged-yolo26n|converged-yolo26n-boxkd|sparsity)" >&2
     exit 2 ;;
esac
