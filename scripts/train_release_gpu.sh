#!/usr/bin/env bash
# Train both release networks (multi-task VGG16 and ResNet50, all ages, 96 px) in one command.
# On one H100/H200 each model gets a time budget (default 200 s) so the whole script ends in about
# 8 minutes; without a GPU the same command trains on the CPU (no budget unless BUDGET_S is set)
# and resumes from RUNS/<arch>/last.pt after any interruption.
#
#   usage: scripts/train_release_gpu.sh PACK_OR_CACHE [RUNS] [OUT]
#     PACK_OR_CACHE  a face pack (agegender data pack, .npz) or a cache folder
#     RUNS           run folders (default runs/release-96)
#     OUT            where to export fp16 weights in <=15 MB parts (default: no export)
#   env: BUDGET_S (seconds per model; default 200 on a GPU, 0 = none on CPU), ARCHS, EPOCHS
#
# Preparing the data on one machine and training on another (e.g. a GPU server):
#   agegender data cache data/utkface_manifest.csv --root ../shared/data/utkface/images -o cache/utk96 --size 96
#   agegender data pack cache/utk96 -o utk96-trainval.npz --splits train,val     # ~48 MiB of JPEGs
#   copy the repository and the pack there, then: bash scripts/train_release_gpu.sh utk96-trainval.npz runs/release-96 out/
#   OUT receives each model's fp16 weights in parts of at most 15 MB (join them with cat, or load them as they are).
set -euo pipefail
SRC=${1:?face pack (.npz) or cache folder}
RUNS=${2:-runs/release-96}
OUT=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
AG="$PY -m agegender"
GPU=$($PY -c "import torch; print(int(torch.cuda.is_available()))")
BUDGET_S=${BUDGET_S:-$([ "$GPU" = 1 ] && echo 200 || echo 0)}
BATCH=$([ "$GPU" = 1 ] && echo 256 || echo 64)
LR=$([ "$GPU" = 1 ] && echo 2e-3 || echo 1e-3)

CACHE=$SRC
if [ -f "$SRC" ]; then
  CACHE=${CACHE_DIR:-${TMPDIR:-/tmp}/agegender-$(basename "$SRC" .npz)}
  [ -f "$CACHE/labels.json" ] || $AG data unpack "$SRC" -o "$CACHE"
fi
$PY -c "import torch; print('torch', torch.__version__, 'cuda' if torch.cuda.is_available() else 'cpu',
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
for arch in ${ARCHS:-resnet50 vgg16}; do
  $AG train --recipe multitask-dldl-96-release --cache "$CACHE" --arch "$arch" --batch-size "$BATCH" --lr "$LR" \
    ${EPOCHS:+--epochs "$EPOCHS"} --time-budget-s "$BUDGET_S" --resume --no-progress --out "$RUNS/$arch"
  if [ -n "$OUT" ]; then
    mkdir -p "$OUT" "$RUNS/export"
    $AG export "$RUNS/$arch" -o "$RUNS/export/$arch.safetensors" --part-mb 15
    cp "$RUNS/$arch/summary.csv" "$OUT/$arch-summary.csv"
    cp "$RUNS/export/$arch.safetensors".part* "$OUT/"
  fi
done
if [ -n "$OUT" ]; then  # throughput and length of these runs, for benchmarks/results (GPU) or a CPU record
  $PY "$ROOT/benchmarks/release_training.py" $(for a in ${ARCHS:-resnet50 vgg16}; do echo "$RUNS/$a"; done) \
    --name "training_release_$([ "$GPU" = 1 ] && echo gpu || echo cpu)" --out "$OUT" \
    --note "scripts/train_release_gpu.sh, BUDGET_S=$BUDGET_S per model, batch $BATCH"
fi
