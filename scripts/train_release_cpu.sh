#!/usr/bin/env bash
# Short CPU training of the shipped multi-task networks (one backbone, age + gender heads):
# all ages, 64x64, age as a label distribution (DLDL: one bin per year, gives an uncertainty),
# gender by cross-entropy, Adam + cosine schedule. Resumable like every run.
#   usage: scripts/train_release_cpu.sh CACHE_DIR RUNS_DIR [resnet50|vgg16 ...]
set -euo pipefail
CACHE=${1:?face cache folder}
RUNS=${2:?runs folder}
shift 2
AG=${AGEGENDER:-agegender}
declare -A EPOCHS=([resnet50]=5 [vgg16]=3)
for arch in ${@:-resnet50 vgg16}; do
  "$AG" train --cache "$CACHE" --all-ages --task both --age-head distribution --age-loss dldl --gender-loss ce \
    --lr 1e-3 --batch-size 64 --schedule cosine --augment 1.0 --recipe multitask-dldl-64-cpu-short \
    --resume --no-progress --arch "$arch" --epochs "${EPOCHS[$arch]}" --out "$RUNS/$arch-both"
done
